import { realpathSync, statSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * What a path *is*, not how it is spelled: `b:MAJ:MIN` for a block device (its st_rdev: every
 * node and symlink of an LVM volume is the same device), `f:MAJ:MIN:INO` for anything else
 * (st_dev and st_ino: a symlink or a hard link of an image is the same image).
 */
export type Identity = string;

/** glibc's dev_t encoding (gnu_dev_major/minor), on the 64-bit value stat gives. */
export function splitDev(dev: bigint): [number, number] {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return [Number(major), Number(minor)];
}

/** The identity of what path leads to (symlinks followed), or undefined when there is nothing. */
export function identityOf(path: string): Identity | undefined {
  let st;
  try {
    st = statSync(path, { bigint: true });
  } catch {
    return undefined;
  }
  if (st.isBlockDevice()) return blockIdentity(...splitDev(st.rdev));
  return fileIdentity(splitDev(st.dev).join(':'), st.ino);
}

export function blockIdentity(major: number, minor: number): Identity {
  return `b:${major}:${minor}`;
}

export function fileIdentity(majorMinor: string, ino: bigint | number | string): Identity {
  return `f:${majorMinor}:${ino}`;
}

/** The path with every symlink resolved (the kernel's spelling, as mountinfo and loop devices show it); as given when it does not exist. */
export function canonicalPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}
