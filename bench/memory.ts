import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findCgroup2Mount } from '../src/host/cgroupfs';
import { memoryOf } from '../src/host/proc';
import { CGROUP_MONITOR } from '../src/core/paths';

function environ(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8');
  } catch {
    return '';
  }
}

/**
 * Host-side processes kept for running subhosts, outside their own cgroups: the supervisors in
 * subhost.monitor. Returns the total RSS and PSS of those that belong to the given names.
 */
export function hostSideMemory(names: string[]): { processes: number; rss: number; pss: number } {
  const wanted = new Set(names);
  const procs = readFileSync(join(findCgroup2Mount(), CGROUP_MONITOR, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  let rss = 0;
  let pss = 0;
  let processes = 0;
  for (const pid of procs) {
    const name = /(?:^|\0)SUBHOST_NAME=([^\0]*)/.exec(environ(pid))?.[1];
    if (!name || !wanted.has(name)) continue;
    const m = memoryOf(pid);
    if (!m) continue;
    processes += 1;
    rss += m.rss;
    pss += m.pss;
  }
  return { processes, rss, pss };
}
