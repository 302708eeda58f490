import { SubhostError } from '../../errors';
import { procRef, type ProcRef } from '../../host/proc';
import type { Lock } from '../../host/flock';
import { checkName } from '../config/names';
import { undoApplied } from '../plan/executor';
import type { Runtime } from '../state/runtime';
import { readState, removeRuntimeDir, writeState, type AppliedStep, type StateRecord } from '../state/records';
import { canonicalPath } from '../../host/file-identity';
import type { SubhostContext } from '../steps/context';
import { SUBHOST_HANDLERS } from '../steps/handlers';
import { detachAppliedLoops } from '../steps/disks';
import { loadConfig } from '../config';
import { detectLayout, imagesOf } from '../storage/layout';
import { lockSubhost } from '../state/lock';
import { findResources, recordScope, releaseResources, type Scope } from '../inspect/resources';
import { crashPoint } from '../../test-hooks';
import { timed } from '../plan/timings';
import { subhostCgroupSet } from '../cgroups/subhost-cgroups';

/** Runtime state is host-wide, NAME is not: a subhost booted from another SUBHOST_ROOT is not this root's to stop. */
export function refuseOtherRoot(rt: Runtime, record: StateRecord): void {
  if (canonicalPath(record.root) !== canonicalPath(rt.paths.root)) {
    throw new SubhostError(`subhost ${record.name} was booted from ${record.root}, not from ${rt.paths.root}: use --root ${record.root}`);
  }
}

export interface StopOutcome {
  /** False when there was nothing to release ("already stopped"). */
  released: boolean;
}

export interface ReleaseOptions {
  /** Held already (poweroff, `_reap`, check-mounts --fix). */
  lock?: Lock;
  /** The `_reap` process doing this: it is the supervisor, exec'd, and must not kill itself. */
  self?: ProcRef;
  /** More images whose loop devices are NAME's, and roots its folder may be in (check-mounts found them). */
  images?: string[];
  roots?: string[];
  /** What to wait for between finding NAME's resources and releasing them (poweroff: PID 1's end, meanwhile the scan runs). */
  until?: Promise<unknown>;
}

/**
 * Mark NAME's record as being stopped by this process (phase stopping): a later command then
 * knows that a release began. A mark that cannot be written (a full /run) must not keep NAME from
 * being released: the release finds what to undo by looking, and the old record says as much.
 */
export async function markStopping(rt: Runtime, record: StateRecord, cmd: 'stop' | 'poweroff'): Promise<boolean> {
  record.op = { cmd, ...procRef(process.pid)! };
  record.phase = 'stopping';
  return timed('write record', () => writeState(rt.paths, record)).then(
    () => true,
    () => false,
  );
}

/** Steps whose undo needs only NAME's processes gone (PID 1's supervisor and monitor cgroup, NAME's cgroups), not its disks. */
const PROCESS_SIDE = new Set(['start-init', 'start-shell', 'cgroup', 'io-accounting', 'devices']);

/**
 * Release everything of NAME: kill its processes, undo every recorded step, then look for
 * anything the records missed (a crash between doing and recording) and release that too.
 * Restartable: killed at any point, running it again finishes the job.
 */
export async function release(rt: Runtime, name: string, opts: ReleaseOptions = {}): Promise<StopOutcome> {
  checkName(name);
  const lock = opts.lock ?? (await timed('lock subhost', () => lockSubhost(rt, name, 'stop')));
  try {
    const record = readState(rt.paths, name);
    // `_reap` and check-mounts --fix name their roots; an operator's stop must be run from NAME's own.
    if (record && !opts.self && !opts.roots) refuseOtherRoot(rt, record);
    const own: Scope = record ? recordScope(record, rt.paths) : { roots: [rt.paths.root], images: [] };
    const scope: Scope = { ...own, roots: [...own.roots, ...(opts.roots ?? [])], images: [...own.images, ...(opts.images ?? [])], spare: opts.self ? [opts.self.pid] : [] };
    let marked = false;
    if (record && !(record.phase === 'stopping' && record.op?.pid === process.pid)) {
      marked = await markStopping(rt, record, 'stop');
    } else if (!record) {
      try {
        const cfg = await loadConfig(rt.paths, name, { env: rt.env });
        scope.images.push(...imagesOf(cfg, detectLayout(cfg, rt.paths)));
      } catch {
        /* no usable config: look by name only */
      }
    }
    crashPoint(rt.env, 'stop:marked');
    // NAME's processes die while it is looked for: its cgroup2 cgroup holds them all, and cgroup.kill
    // is one write (a kernel without it: a signal each); the scan and their end (the PID namespace's
    // teardown) take a few ms each. Not
    // for a power off (the guest shuts down by itself) nor `_reap`. The supervisor, seeing PID 1 end,
    // leaves the release to this command, as the record's op (written: marked) tells it.
    if (marked && !opts.until && !opts.self) {
      try {
        subhostCgroupSet(rt.cgroupMount, name).v2.kill();
      } catch {
        /* gone already, or the kill after the scan says why */
      }
      crashPoint(rt.env, 'stop:guest-killed');
    }
    // The supervisor is found in subhost.monitor (by SUBHOST_NAME) and killed.
    const before = await timed('find resources', () => findResources(rt, name, scope));
    // A guest powering off changes only its own processes (its unmounts are in its own namespace): found ones that end meanwhile are skipped by their start time.
    await opts.until;
    const ctx: SubhostContext = { results: new Map(), paths: rt.paths, name, cgroupMount: rt.cgroupMount, warnings: [] };
    // The network goes at once (found by its marks, so its recorded steps need no undo): deleting a
    // veth makes the kernel wait, and nothing needs the processes gone for it. The disks wait for the
    // processes, which may hold a mount or a loop; a crash may have left a mount unrecorded, so the
    // mounts found go before the recorded undos.
    const errors: SubhostError[] = [];
    const network = new Set(['veth', 'netns']);
    const net = async () => {
      crashPoint(rt.env, 'stop:network');
      errors.push(...(await timed('release network', () => releaseResources(rt, name, before.filter((r) => network.has(r.kind))))));
    };
    const disks = async () => {
      errors.push(...(await timed('kill processes', () => releaseResources(rt, name, before.filter((r) => r.kind === 'process' || r.kind === 'supervisor')))));
      crashPoint(rt.env, 'stop:killed');
      const rest = record ? record.applied.filter((a) => a.kind !== 'veths' && a.kind !== 'netns') : [];
      const undo = async (steps: AppliedStep[]) => errors.push(...(await undoApplied(steps, SUBHOST_HANDLERS, ctx, (a) => crashPoint(rt.env, `stop:undo:${a.id}`))));
      // With the processes dead, PID 1's and the cgroup's undos need the disks no more: they go beside them.
      const unmountAndDetach = async () => {
        errors.push(...(await timed('unmount found', () => releaseResources(rt, name, before.filter((r) => r.kind === 'mount')))));
        if (!record) return;
        const disk = rest.filter((a) => !PROCESS_SIDE.has(a.kind));
        // Once unmounted, the loops go in one losetup; one still in use is left to its undo, which says so.
        try {
          await timed('detach loops', () => detachAppliedLoops(disk));
        } catch {
          /* reported by the undo of that loop */
        }
        await undo(disk);
      };
      await Promise.all([unmountAndDetach(), undo(rest.filter((a) => PROCESS_SIDE.has(a.kind)))]);
    };
    await Promise.all([disks(), net()]);
    crashPoint(rt.env, 'stop:undone');
    const foundLoops = before.filter((r) => r.kind === 'loop').map((r) => r.id);
    const left = await timed('find leftovers', () => findResources(rt, name, { ...scope, foundLoops }));
    let remaining = left;
    if (left.length) {
      errors.push(...(await releaseResources(rt, name, left)));
      remaining = await findResources(rt, name, scope);
    }
    if (errors.length || remaining.length) {
      if (record) {
        delete record.op;
        writeState(rt.paths, record);
      }
      const first = errors[0] ?? new SubhostError(`still there: ${remaining.map((r) => `${r.kind} ${r.id}`).join(', ')}`);
      first.details.push(...errors.slice(1).map((e) => e.message), ...remaining.map((r) => `left: ${r.kind} ${r.id}`));
      throw first.withContext(`stopping ${name}`);
    }
    crashPoint(rt.env, 'stop:swept');
    await timed('remove record', () => removeRuntimeDir(rt.paths, name));
    return { released: record !== undefined || before.length > 0 };
  } finally {
    if (!opts.lock) lock.release();
  }
}
