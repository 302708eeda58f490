import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { optionalAddon } from '../../host/bpf-addon';

/** How a snapshot gets the text of one cgroup file: undefined when it cannot be opened or read. */
export interface CgroupFiles {
  read(dir: string, file: string): string | undefined;
  /** The text of a file already open, without trying to open one (undefined: not open, or its read failed). */
  readHeld?(dir: string, file: string): string | undefined;
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
  read(dir, file) {
    const fd = tryOpen(`${dir}/${file}`);
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

/** One cgroup directory's open files, and the last sample that read it. */
interface HeldDir {
  round: number;
  fds: Map<string, number>;
}

/**
 * The daemon's files, kept open from one sample to the next and read again with pread at offset 0
 * (kernfs makes the text anew on each read from 0): open and close are two thirds of the kernel's
 * cost of a cgroup file. A file of a removed cgroup answers ENODEV, even if a cgroup of the same
 * name was made since, so a failed read is retried once on a fresh open; the files of a cgroup a
 * sample did not read (gone) are closed by sweep(). Kept by directory, then file name: the daemon
 * asks with the same strings every sample, so no lookup builds or hashes a new one.
 */
export class HeldFiles implements CgroupFiles {
  private readonly dirs = new Map<string, HeldDir>();
  private count = 0;
  private round = 0;
  /** The addon's pread (one call per file, a third of the CPU of fs.readSync's), or readSync's where it is older. */
  private readonly pread: (fd: number) => string | null = nativePread() ?? ((fd) => readFd(fd, 0));

  constructor(private readonly budget = fdBudget()) {}

  readHeld(dir: string, file: string): string | undefined {
    const held = this.dirs.get(dir);
    const fd = held?.fds.get(file);
    if (fd === undefined) return undefined;
    held!.round = this.round;
    const text = this.readFd(fd);
    if (text === undefined) this.drop(held!, file, fd);
    return text;
  }

  read(dir: string, file: string): string | undefined {
    const text = this.readHeld(dir, file);
    if (text !== undefined) return text;
    if (this.count >= this.budget) return openReadClose.read(dir, file);
    const fd = tryOpen(`${dir}/${file}`);
    if (fd === undefined) return undefined;
    const fresh = this.readFd(fd);
    if (fresh === undefined) {
      closeSync(fd);
      return undefined;
    }
    let held = this.dirs.get(dir);
    if (!held) this.dirs.set(dir, (held = { round: this.round, fds: new Map() }));
    held.round = this.round;
    held.fds.set(file, fd);
    this.count += 1;
    return fresh;
  }

  /** After a sample: close the files of the directories it did not read, and start the next round. */
  sweep(): void {
    // forEach, not for-of: no [key, value] array per entry, and deleting the current entry is allowed.
    this.dirs.forEach((held, dir) => {
      if (held.round === this.round) return;
      held.fds.forEach((fd, file) => this.drop(held, file, fd));
      this.dirs.delete(dir);
    });
    this.round += 1;
  }

  get size(): number {
    return this.count;
  }

  close(): void {
    this.dirs.forEach((held) => held.fds.forEach((fd, file) => this.drop(held, file, fd)));
    this.dirs.clear();
  }

  private readFd(fd: number): string | undefined {
    try {
      return this.pread(fd) ?? undefined;
    } catch {
      return undefined;
    }
  }

  private drop(held: HeldDir, file: string, fd: number): void {
    held.fds.delete(file);
    this.count -= 1;
    try {
      closeSync(fd);
    } catch {
      /* already closed */
    }
  }
}

function nativePread(): ((fd: number) => string | null) | undefined {
  const addon = optionalAddon();
  return typeof addon?.preadText === 'function' ? addon.preadText.bind(addon) : undefined;
}
