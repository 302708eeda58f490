import { readdirSync, readFileSync } from 'node:fs';

/** The PIDs whose parent is pid (from /proc/PID/stat; a process gone meanwhile is skipped). */
export function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((p) => {
      try {
        // The command name in parentheses may hold spaces: the fields after its ") " are fixed.
        return readFileSync(`/proc/${p}/stat`, 'utf8').split(') ').pop()!.split(' ')[1] === String(pid);
      } catch {
        return false;
      }
    });
}
