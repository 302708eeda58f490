import { closeSync, readdirSync, readFileSync } from 'node:fs';
import { optionalAddon } from './bpf-addon';

const O_CLOEXEC = 0o2000000;

/**
 * Close the file descriptors this process inherited beyond stdin, stdout and stderr. Node passes
 * them on to every child, so a supervisor or a guest's PID 1 would hold, for as long as it runs,
 * whatever the caller left open (an ssh session's pipe, a lock). Node's own descriptors are
 * close-on-exec and are left alone. Returns what it closed.
 */
export function closeInheritedFds(): number[] {
  // By fcntl(2) in the addon, which every command loads anyway (its end is the addon's _exit).
  const viaAddon = optionalAddon()?.closeInheritedFds;
  if (typeof viaAddon === 'function') {
    try {
      return viaAddon();
    } catch {
      // No /proc/self/fd to list: the reading below finds nothing either, and says nothing.
    }
  }
  return closeByFdinfo();
}

/** Without the addon: each descriptor's flags from /proc/self/fdinfo. */
function closeByFdinfo(): number[] {
  let fds: number[];
  try {
    fds = readdirSync('/proc/self/fd').map(Number).filter((fd) => fd > 2);
  } catch {
    return [];
  }
  const closed: number[] = [];
  for (const fd of fds) {
    let flags: number;
    try {
      const line = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8').split('\n').find((l) => l.startsWith('flags:'));
      if (!line) continue;
      flags = parseInt(line.slice(6).trim(), 8);
    } catch {
      continue; // the directory's own fd, already gone
    }
    if (flags & O_CLOEXEC) continue;
    try {
      closeSync(fd);
      closed.push(fd);
    } catch {
      /* not ours to close after all */
    }
  }
  return closed;
}
