import { readFileSync } from 'node:fs';
import { parseProcCgroup } from '../../src/host/cgroup-text';
import { listPids, readStat } from '../../src/host/proc';

/** The PIDs whose parent is pid (a process gone meanwhile is skipped). */
export function childrenOf(pid: number): number[] {
  return listPids().filter((p) => readStat(p)?.ppid === pid);
}

/** A process's cgroup2 path ("/subhost/NAME/guest"), or undefined once it is gone. */
export function cgroup2Of(pid: number): string | undefined {
  try {
    return parseProcCgroup(readFileSync(`/proc/${pid}/cgroup`, 'utf8')).v2;
  } catch {
    return undefined;
  }
}
