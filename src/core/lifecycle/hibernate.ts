import { SubhostError } from '../../errors';
import { procRef } from '../../host/proc';
import type { Runtime } from '../state/runtime';
import { deriveState, readState, writeState } from '../state/records';
import { lockSubhost } from '../state/lock';
import { subhostCgroupSet } from '../cgroups/subhost-cgroups';

/** Steps of a `subhost start` session: gone with its processes, applied again by a resume. */
export const SESSION_STEPS: ReadonlySet<string> = new Set(['start-shell']);

export type HibernateOutcome = { end: 'hibernated' } | { end: 'stopped' } | { end: 'failed'; reason: string };

/**
 * The shell of session bootId has ended: kill whatever is left in the subhost's cgroups and keep
 * everything else (mounts, network namespace, veths, the cgroup itself) for a resume.
 * Another command may have stopped or taken the subhost over meanwhile: then leave it alone.
 */
export async function hibernate(rt: Runtime, name: string, bootId: string): Promise<HibernateOutcome> {
  const lock = await lockSubhost(rt, name, 'hibernate', 120);
  try {
    const record = readState(rt.paths, name);
    if (!record || record.bootId !== bootId || record.phase !== 'running') return { end: 'stopped' };
    const derived = deriveState(record);
    if (derived.state === 'failed') return { end: 'failed', reason: derived.reason ?? '' };
    record.op = { cmd: 'hibernate', ...procRef(process.pid)! };
    writeState(rt.paths, record);
    await subhostCgroupSet(rt.cgroupMount, name)
      .killAll()
      .catch((err: SubhostError) => {
        throw err.withContext(`hibernating ${name}`);
      });
    record.applied = record.applied.filter((a) => !SESSION_STEPS.has(a.kind));
    record.phase = 'hibernated';
    delete record.pid1;
    delete record.attached;
    delete record.op;
    writeState(rt.paths, record);
    return { end: 'hibernated' };
  } finally {
    lock.release();
  }
}
