import { closeSync, ftruncateSync, openSync } from 'node:fs';
import { ConfigError } from '../errors';
import { run } from '../host/exec';
import { runGuarded } from './guarded';

const MiB = 1024 * 1024;
/** Partition 1 starts at 1 MiB, as fdisk and every VM tool place it. */
const START_SECTOR = 2048;

/** Bytes the files of a tree take, as du counts them (blocks, each hard link once). */
export async function treeBytes(dir: string): Promise<number> {
  const { stdout } = await run(['du', '-s', '-x', '--block-size=1', dir]);
  return Number(stdout.split(/\s/)[0]);
}

/**
 * A sparse raw image with an MBR (sfdisk on the file) and one ext4 partition filled from a
 * folder by mke2fs -d: no loop device and no mount, so a kill at any moment leaves only a file.
 */
export async function makeDiskImage(path: string, bytes: number, from: string): Promise<void> {
  const needed = (await treeBytes(from)) * 1.15 + 24 * MiB;
  if (needed > bytes - START_SECTOR * 512) {
    throw new ConfigError(`--disk ${Math.round(bytes / MiB)}M: too small for this root filesystem (it needs about ${Math.ceil(needed / MiB)}M)`);
  }
  const fd = openSync(path, 'wx', 0o600);
  try {
    ftruncateSync(fd, bytes);
  } finally {
    closeSync(fd);
  }
  await runGuarded(['sfdisk', '--quiet', '--no-reread', '--no-tell-kernel', '--label', 'dos', path], { input: `start=${START_SECTOR}, type=83\n` });
  const offset = START_SECTOR * 512;
  const sizeK = Math.floor((bytes - offset) / 1024);
  await runGuarded(['mke2fs', '-q', '-F', '-t', 'ext4', '-E', `offset=${offset}`, '-d', from, path, `${sizeK}k`]);
}
