import { SubhostError } from '../../errors';
import { isAlive, procRef, signalProc, type ProcRef } from '../../host/proc';
import type { Lock } from '../lock';
import { checkName } from '../names';
import { undoApplied } from '../plan/executor';
import type { Runtime } from '../runtime';
import { readState, removeRuntimeDir, writeState } from '../state';
import type { SubhostContext } from '../steps/context';
import { SUBHOST_HANDLERS } from '../steps/handlers';
import { loadConfig } from '../config';
import { detectLayout, imagesOf } from '../layout';
import { lockSubhost } from './lock';
import { findResources, releaseResources } from './resources';

export interface StopOutcome {
  /** False when there was nothing to release ("already stopped"). */
  released: boolean;
  what: string[];
}

/**
 * Release everything of NAME: kill its processes, undo every recorded step, then look for
 * anything the records missed (a crash between doing and recording) and release that too.
 */
export async function release(rt: Runtime, name: string, opts: { lock?: Lock; self?: ProcRef } = {}): Promise<StopOutcome> {
  checkName(name);
  const lock = opts.lock ?? (await lockSubhost(rt, name, 'stop'));
  try {
    const record = readState(rt.paths, name);
    let images: string[] = [];
    let interfaces = 0;
    if (record) {
      images = imagesOf(record.config, record.layout ?? detectLayout(record.config, rt.paths));
      interfaces = record.config.bridges.length;
      record.op = { cmd: 'stop', ...procRef(process.pid)! };
      record.phase = 'stopping';
      writeState(rt.paths, record);
    } else {
      try {
        const cfg = await loadConfig(rt.paths, name, { env: rt.env });
        images = imagesOf(cfg, detectLayout(cfg, rt.paths));
        interfaces = cfg.bridges.length;
      } catch {
        /* no usable config: look by name only */
      }
    }
    const what: string[] = [];
    if (record?.supervisor && record.supervisor.pid !== opts.self?.pid && isAlive(record.supervisor)) {
      signalProc(record.supervisor, 'SIGKILL');
      what.push('supervisor');
    }
    const before = findResources(rt, name, images, interfaces);
    const ctx: SubhostContext = { results: new Map(), paths: rt.paths, name, cgroupMount: rt.cgroupMount, warnings: [] };
    // Processes first: nothing may hold a mount or a loop while we undo.
    const errors = await releaseResources(rt, name, before.filter((r) => r.kind === 'process'));
    if (record) errors.push(...(await undoApplied(record.applied, SUBHOST_HANDLERS, ctx)));
    const left = findResources(rt, name, images, interfaces);
    errors.push(...(await releaseResources(rt, name, left)));
    const remaining = findResources(rt, name, images, interfaces);
    what.push(...before.map((r) => `${r.kind} ${r.id}`));
    if (errors.length || remaining.length) {
      if (record) {
        delete record.op;
        writeState(rt.paths, record);
      }
      const first = errors[0] ?? new SubhostError(`still there: ${remaining.map((r) => `${r.kind} ${r.id}`).join(', ')}`);
      first.details.push(...errors.slice(1).map((e) => e.message), ...remaining.map((r) => `left: ${r.kind} ${r.id}`));
      throw first.withContext(`stopping ${name}`);
    }
    removeRuntimeDir(rt.paths, name);
    return { released: record !== undefined || before.length > 0, what };
  } finally {
    if (!opts.lock) lock.release();
  }
}
