import { removeStaging, staleStaging } from '../../bootstrap/staging';
import { asSubhostError, SubhostError } from '../../errors';
import { readMountinfo } from '../../host/mountinfo';
import { NAME_RE } from '../config/names';
import type { Runtime } from '../state/runtime';
import { deriveState, readState, type SubhostStateName } from '../state/records';
import { readlinkSync } from 'node:fs';
import { known } from '../state/active';
import { findDoubleMounts, type DoubleMount } from '../storage/double-mounts';
import { listLoopIdentities } from '../../host/loop-identity';
import { subhostCgroupSet } from '../cgroups/subhost-cgroups';
import { subhostNames } from './info';
import { activeRecords, findLeftovers } from './leftovers';
import { lockSubhost } from '../state/lock';
import { releaseResources, type HostResource } from './resources';
import { subhostFilesystems, type FsUsage } from './space';
import { release } from '../lifecycle/stop';
import { killProcs } from '../lifecycle/supervisors';

export const DEFAULT_THRESHOLD_PERCENT = 90;

export interface CheckOptions {
  fix?: boolean;
  thresholdPercent?: number;
  /** Only these subhosts (default: all). */
  names?: string[];
}

/** `subhost check-mounts --json` (fields in the README). */
export interface CheckReport {
  ok: boolean;
  thresholdPercent: number;
  subhosts: { name: string; state: SubhostStateName; filesystems: FsUsage[] }[];
  /** What is left over now (after --fix: what it could not release). */
  leftovers: Leftover[];
  /** With --fix: what it released. */
  fixed?: Leftover[];
  /** Filesystems of one image mounted through two loop devices at once (never fixed: both may be live). */
  doubleMounts: DoubleMount[];
  errors: string[];
}

export type Leftover = Pick<HostResource, 'kind' | 'subhost' | 'id' | 'detail'>;

const brief = (r: HostResource): Leftover => ({ kind: r.kind, subhost: r.subhost, id: r.id, ...(r.detail ? { detail: r.detail } : {}) });

/** SPEC §5: space of every active subhost's filesystems, and everything left behind; --fix releases it. */
export async function checkMounts(rt: Runtime, opts: CheckOptions = {}): Promise<CheckReport> {
  const threshold = opts.thresholdPercent ?? DEFAULT_THRESHOLD_PERCENT;
  const wanted = (n: string) => !opts.names || opts.names.includes(n);
  let leftovers = [...(await findLeftovers(rt, { names: opts.names })), ...staleBootstraps(rt, opts.names)];
  const errors: string[] = [];
  let fixed: Leftover[] | undefined;
  if (opts.fix && leftovers.length) {
    for (const r of leftovers) if (r.kind === 'bootstrap') removeStaging(r.id);
    errors.push(...(await fixLeftovers(rt, leftovers.filter((r) => r.kind !== 'bootstrap'))).map((e) => e.message));
    const still = [...(await findLeftovers(rt, { names: opts.names })), ...staleBootstraps(rt, opts.names)];
    const key = (r: HostResource) => `${r.kind} ${r.id}`;
    const stillKeys = new Set(still.map(key));
    fixed = leftovers.filter((r) => !stillKeys.has(key(r))).map(brief);
    leftovers = still;
  }
  const mounts = readMountinfo();
  const active = activeRecords(rt);
  const subhosts = subhostNames(rt)
    .filter(wanted)
    .map((name) => {
      const rec = active.get(name);
      return { name, state: known(rt, name).derived.state, filesystems: rec ? subhostFilesystems(rec, threshold, mounts) : [] };
    });
  const full = subhosts.some((s) => s.filesystems.some((f) => f.overThreshold));
  const doubleMounts = findDoubleMounts(await listLoopIdentities(), mounts);
  return { ok: !leftovers.length && !errors.length && !full && !doubleMounts.length, thresholdPercent: threshold, subhosts, leftovers: leftovers.map(brief), ...(fixed ? { fixed } : {}), doubleMounts, errors };
}

/** A guest runs in NAME's cgroups: a process there is in a PID namespace of its own (a guest's PID 1 and its children). */
function runsAGuest(rt: Runtime, name: string): boolean {
  const ours = readlinkOr('/proc/self/ns/pid');
  return subhostCgroupSet(rt.cgroupMount, name)
    .existing()
    .some((c) =>
      c.allProcs().some((pid) => {
        const ns = readlinkOr(`/proc/${pid}/ns/pid`);
        return ns !== undefined && ns !== ours;
      }),
    );
}

function readlinkOr(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

/** The staging folders of bootstraps that were killed (src/bootstrap/staging.ts). */
function staleBootstraps(rt: Runtime, names?: string[]): HostResource[] {
  return staleStaging(rt.paths.root)
    .filter((s) => !names || names.includes(s.name))
    .map((s) => ({ kind: 'bootstrap', subhost: s.name, id: s.path, detail: `staging folder of a bootstrap that ended (pid ${s.owner.pid})` }));
}

/**
 * Release leftovers, one subhost at a time under its lock (a command working on it waits, or we
 * skip it). A subhost that became active meanwhile keeps everything but a stale supervisor.
 */
export async function fixLeftovers(rt: Runtime, leftovers: HostResource[]): Promise<SubhostError[]> {
  const errors: SubhostError[] = [];
  const byName = new Map<string, HostResource[]>();
  for (const r of leftovers) byName.set(r.subhost, [...(byName.get(r.subhost) ?? []), r]);
  for (const [name, items] of byName) {
    if (!NAME_RE.test(name)) {
      // No subhost command can work on a name like this: nothing to lock, just remove it.
      errors.push(...(await releaseResources(rt, name, items)));
      continue;
    }
    try {
      const lock = await lockSubhost(rt, name, 'check-mounts --fix', 10);
      try {
        const rec = readState(rt.paths, name);
        if (rec && deriveState(rec).state !== 'failed') {
          const stale = items.filter((r) => r.kind === 'supervisor' && r.proc && r.proc.pid !== rec.supervisor?.pid && r.proc.pid !== rec.op?.pid);
          const alive = await killProcs(stale.map((r) => r.proc!));
          if (alive.length) errors.push(new SubhostError(`${name}: supervisor ${alive.map((a) => a.pid).join(', ')} did not die after SIGKILL`));
          continue;
        }
        const k = known(rt, name);
        if (!k.record && k.derived.state === 'failed' && runsAGuest(rt, name)) {
          // The record is lost, not the guest: only an operator's `stop` may kill it.
          errors.push(new SubhostError(`${name}: ${k.derived.reason}; a guest still runs in it, so --fix leaves it alone`));
          continue;
        }
        const images = items.flatMap((r) => (r.backingFile ? [r.backingFile] : []));
        await release(rt, name, { lock, images, roots: [rt.paths.root] });
      } finally {
        lock.release();
      }
    } catch (err) {
      errors.push(asSubhostError(err));
    }
  }
  return errors;
}
