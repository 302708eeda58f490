import { closeSync, openSync, readFileSync, readSync } from 'node:fs';

/** How a snapshot gets the text of one cgroup file: undefined when it cannot be opened or read. */
export interface CgroupFiles {
  read(path: string): string | undefined;
}

const buffer = Buffer.allocUnsafe(256 * 1024);

function readFd(fd: number, position: number | null): string {
  const n = readSync(fd, buffer, 0, buffer.length, position);
  return buffer.toString('latin1', 0, n);
}

/** A cgroup's file, or undefined where the cgroup (or the file, on this kernel) is not there. */
function tryOpen(path: string): number | undefined {
  try {
    return openSync(path, 'r');
  } catch {
    return undefined;
  }
}

/** One command's snapshot: open + read + close into one buffer (no stat, no throw). */
export const openReadClose: CgroupFiles = {
  read(path) {
    const fd = tryOpen(path);
    if (fd === undefined) return undefined;
    try {
      return readFd(fd, null);
    } catch {
      return undefined;
    } finally {
      closeSync(fd);
    }
  },
};

/** Half the soft limit on open files (Node raises it to the hard one at start), for the rest of the process. */
function fdBudget(): number {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'latin1'));
    return m ? Math.floor(Number(m[1]) / 2) : 512;
  } catch {
    return 512;
  }
}

/**
 * The daemon's files, kept open from one sample to the next and read again with pread at offset 0
 * (kernfs makes the text anew on each read from 0): open and close are two thirds of the kernel's
 * cost of a cgroup file. A file of a removed cgroup answers ENODEV, even if a cgroup of the same
 * name was made since, so a failed read is retried once on a fresh open; files a sample did not
 * read (cgroups gone) are closed by sweep().
 */
export class HeldFiles implements CgroupFiles {
  private readonly fds = new Map<string, { fd: number; round: number }>();
  private round = 0;

  constructor(private readonly budget = fdBudget()) {}

  read(path: string): string | undefined {
    const held = this.fds.get(path);
    if (held) {
      held.round = this.round;
      try {
        return readFd(held.fd, 0);
      } catch {
        this.drop(path, held.fd);
      }
    }
    if (this.fds.size >= this.budget) return openReadClose.read(path);
    const fd = tryOpen(path);
    if (fd === undefined) return undefined;
    try {
      const text = readFd(fd, 0);
      this.fds.set(path, { fd, round: this.round });
      return text;
    } catch {
      closeSync(fd);
      return undefined;
    }
  }

  /** After a sample: close what it did not read, and start the next round. */
  sweep(): void {
    for (const [path, h] of this.fds) if (h.round !== this.round) this.drop(path, h.fd);
    this.round += 1;
  }

  get size(): number {
    return this.fds.size;
  }

  close(): void {
    for (const [path, h] of this.fds) this.drop(path, h.fd);
  }

  private drop(path: string, fd: number): void {
    this.fds.delete(path);
    try {
      closeSync(fd);
    } catch {
      /* already closed */
    }
  }
}
