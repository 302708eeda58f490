import { join } from 'node:path';
import { Cgroup } from '../../host/cgroupfs';
import { environHas, isAlive, parseEnviron, procRef, readEnvironText, signalProc, type ProcRef } from '../../host/proc';
import { CGROUP_MONITOR } from '../state/paths';

/** A process in subhost.monitor: a supervisor, or the `_reap` it has exec'd into. */
export interface MonitorProc extends ProcRef {
  /** SUBHOST_NAME and SUBHOST_BOOT_ID from its environment (set by `subhost boot`). */
  name?: string;
  bootId?: string;
}

/**
 * Every process in the monitor cgroup (v2 sees them all, also on hybrid hosts); with `only`, those
 * of that subhost. `others`: PIDs an earlier call of the same command found to be another
 * subhost's, skipped and added to (see Scope.othersInMonitor).
 */
export function listMonitorProcs(cgroupMount: string, only?: string, others?: Set<number>): MonitorProc[] {
  const out: MonitorProc[] = [];
  for (const pid of new Cgroup(join(cgroupMount, CGROUP_MONITOR)).allProcs()) {
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
