import { listMonitorProcs } from '../src/core/lifecycle/supervisors';
import { findCgroup2Mount } from '../src/host/cgroupfs';
import { memoryOf } from '../src/host/proc';

/**
 * Host-side processes kept for running subhosts, outside their own cgroups: the supervisors in
 * subhost.monitor. Returns the total RSS and PSS of those that belong to the given names.
 */
export function hostSideMemory(names: string[]): { processes: number; rss: number; pss: number } {
  const wanted = new Set(names);
  let rss = 0;
  let pss = 0;
  let processes = 0;
  for (const p of listMonitorProcs(findCgroup2Mount())) {
    if (!p.name || !wanted.has(p.name)) continue;
    const m = memoryOf(p.pid);
    if (!m) continue;
    processes += 1;
    rss += m.rss;
    pss += m.pss;
  }
  return { processes, rss, pss };
}
