import { closeSync, openSync, ftruncateSync, writeSync } from 'node:fs';
import { run } from '../../host/exec';
import { buildMbr } from './mbr';

export const MiB = 1024 * 1024;
const PART_START_SECTOR = 2048;

export interface DiskImageOptions {
  sizeMiB: number;
  /** Populate the filesystem from this folder (mke2fs -d: no mount needed). */
  from?: string;
  /** MBR with one Linux partition at 1 MiB (like a VM disk); false: the whole image is one filesystem. */
  partitioned?: boolean;
  label?: string;
}

/** A sparse raw disk image with an ext4 filesystem, made without root and without a loop device. */
export async function makeDiskImage(path: string, opts: DiskImageOptions): Promise<void> {
  const size = opts.sizeMiB * MiB;
  const fd = openSync(path, 'w', 0o600);
  try {
    ftruncateSync(fd, size);
    if (opts.partitioned !== false) {
      writeSync(fd, buildMbr([{ start: PART_START_SECTOR, sectors: size / 512 - PART_START_SECTOR }]), 0, 512, 0);
    }
  } finally {
    closeSync(fd);
  }
  const offset = opts.partitioned === false ? 0 : PART_START_SECTOR * 512;
  const argv = ['mke2fs', '-q', '-F', '-t', 'ext4', '-E', `offset=${offset}`];
  if (opts.from) argv.push('-d', opts.from);
  if (opts.label) argv.push('-L', opts.label);
  argv.push(path, `${(size - offset) / 1024}k`);
  await run(argv);
}
