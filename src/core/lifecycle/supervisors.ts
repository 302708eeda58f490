import { join } from 'node:path';
import { Cgroup } from '../../host/cgroupfs';
import { environHas, isAlive, parseEnviron, procRef, readEnvironText, signalProc, type ProcRef } from '../../host/proc';
import { monitorCgroupSet } from '../cgroups/subhost-cgroups';
import { CGROUP_MONITOR } from '../state/paths';

/** A process in subhost.monitor: a supervisor, or the `_reap` it has exec'd into. */
export interface MonitorProc extends ProcRef {
  /** SUBHOST_NAME and SUBHOST_BOOT_ID from its environment (set by `subhost boot`). */
  name?: string;
  bootId?: string;
}

/**
 * Every process in the monitor cgroups (v2 sees them all, also on hybrid hosts); with `only`, those
 * of that subhost: in subhost.monitor/NAME, and in subhost.monitor itself (a `_reap`, or a
 * supervisor started before the per-subhost monitor) when its environment names NAME. `others`:
 * PIDs an earlier call of the same command found to be another subhost's, skipped and added to
 * (see Scope.othersInMonitor).
 */
export function listMonitorProcs(cgroupMount: string, only?: string, others?: Set<number>): MonitorProc[] {
  const out: MonitorProc[] = [];
  const monitor = new Cgroup(join(cgroupMount, CGROUP_MONITOR));
  for (const pid of only === undefined ? monitor.allProcs() : [...monitor.child(only).allProcs(), ...monitor.procs()]) {
    if (others?.has(pid)) continue;
    const text = readEnvironText(pid);
    // With `only`, another subhost's supervisor costs one read and one search, not a parse.
    if (only !== undefined && !environHas(text, 'SUBHOST_NAME', only)) {
      others?.add(pid);
      continue;
    }
    const env = parseEnviron(text);
    const ref = procRef(pid);
    if (!ref) continue;
    out.push({ ...ref, name: env.SUBHOST_NAME, bootId: env.SUBHOST_BOOT_ID });
  }
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** SIGKILL recorded processes (never a reused PID) and wait until they are gone. */
export async function killProcs(refs: ProcRef[], timeoutMs = 5000): Promise<ProcRef[]> {
  for (const r of refs) signalProc(r, 'SIGKILL');
  const deadline = Date.now() + timeoutMs;
  for (let delay = 1; refs.some(isAlive) && Date.now() < deadline; delay = Math.min(delay * 2, 50)) await sleep(delay);
  return refs.filter(isAlive);
}

/**
 * Remove NAME's monitor cgroups, killing what is left in them; not while this process is in one
 * (a `_reap` that could not step out: killing it would stop the release half-way).
 */
export async function removeMonitor(cgroupMount: string, name: string): Promise<void> {
  const set = monitorCgroupSet(cgroupMount, name);
  const existing = set.existing();
  if (!existing.length || existing.some((c) => c.allProcs().includes(process.pid))) return;
  await set.remove();
}

/** `_reap` (the supervisor, exec'd) leaves subhost.monitor/NAME for subhost.monitor, so that the release can remove it. */
export function stepOutOfMonitor(cgroupMount: string): void {
  // Into each hierarchy's subhost.monitor itself: CgroupSet.addProc would take a subhost named like DEVICES_LEAF for its leaf.
  for (const c of monitorCgroupSet(cgroupMount).all()) c.addProc(process.pid);
}
