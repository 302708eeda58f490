import { statSync } from 'node:fs';
import { nativeBlkid, noteCall, run } from '../../host/exec';
import { readFileOr } from '../../host/read-file';
import { splitDev } from '../../host/file-identity';

export interface Partition {
  /** 1-based number, as the kernel names it (loop0p1, vda5): libblkid numbers as the kernel does. */
  index: number;
  /** Byte offset and size within the image. */
  offset: number;
  size: number;
}

export interface PartitionTable {
  /** libblkid's name of the scheme (dos, gpt, mac, bsd, ...), or none. */
  scheme: string;
  partitions: Partition[];
  /** The root's filesystem type as the host checks probed it (`blkid -p`) in bytes [offset, offset+size) of this image (size 0: to its end). */
  rootType?: { offset: number; size: number; type: string };
}

/**
 * `partx --raw --output NR,START,SECTORS,SCHEME` (512-byte sectors) read back (pure). A line that
 * is not three numbers and a word is refused: this text comes from an untrusted image's table.
 */
export function parsePartx(stdout: string): PartitionTable {
  const partitions: Partition[] = [];
  let scheme = 'none';
  for (const line of stdout.split('\n')) {
    if (!line.trim()) continue;
    const m = /^(\d+) (\d+) (\d+) (\S+)$/.exec(line.trim());
    if (!m) throw new Error(`unexpected partx output: ${JSON.stringify(line)}`);
    scheme = m[4];
    partitions.push({ index: Number(m[1]), offset: Number(m[2]) * 512, size: Number(m[3]) * 512 });
  }
  return { scheme, partitions };
}

/** Bytes in an image file or block device (st_size is 0 for a block device: its sysfs size is in sectors). */
export function imageSize(path: string): number {
  const st = statSync(path, { bigint: true });
  if (!st.isBlockDevice()) return Number(st.size);
  const sectors = readFileOr(`/sys/dev/block/${splitDev(st.rdev).join(':')}/size`);
  return sectors ? Number(sectors.trim()) * 512 : 0;
}

/**
 * Read the table of an image file or block device with util-linux (libblkid knows every scheme
 * the kernel does, and numbers logical partitions as it does), never with a parser of our own:
 * partx's own libblkid calls in the addon where it has them, else partx.
 */
export async function readPartitionTable(path: string): Promise<PartitionTable & { size: number }> {
  const size = imageSize(path);
  const argv = ['partx', '--raw', '--noheadings', '--output', 'NR,START,SECTORS,SCHEME', path];
  const calls = nativeBlkid();
  if (calls) {
    const t = await noteCall(argv, () => calls.partitionTable(path));
    if (!t.truncated) {
      const partitions = t.partitions.map((p) => ({ index: p.index, offset: p.start * 512, size: p.sectors * 512 }));
      return { scheme: partitions.length ? t.scheme : 'none', partitions, size };
    }
  }
  const r = await run(argv, { allowFailure: true });
  // partx fails when there is no table at all (a whole-disk filesystem).
  if (r.code !== 0) return { scheme: 'none', partitions: [], size };
  return { ...parsePartx(r.stdout), size };
}

/** Why partition p cannot be used from an image of `size` bytes, or undefined: it must lie inside the image. */
export function partitionProblem(p: Partition, size: number): string | undefined {
  if (p.size <= 0) return 'is empty';
  if (p.offset <= 0 || p.offset + p.size > size) return `lies outside the image (bytes ${p.offset} to ${p.offset + p.size}; the image has ${size})`;
  return undefined;
}

/** Filesystems subhost mounts on the host for a guest: never a type the kernel would guess from untrusted bytes. */
export const MOUNTABLE_TYPES = ['ext4', 'ext3', 'ext2', 'xfs', 'btrfs'] as const;

/** The filesystem type of bytes [offset, offset+size) of an image, as libblkid probes it (`blkid -p`); undefined when none is found. */
export async function probeFsType(path: string, offset: number, size: number): Promise<string | undefined> {
  const argv = ['blkid', '-p', '-o', 'export', ...(offset ? ['--offset', String(offset)] : []), ...(size ? ['--size', String(size)] : []), path];
  const calls = nativeBlkid();
  if (calls) return (await noteCall(argv, () => calls.filesystemType(path, offset, size))) || undefined;
  const r = await run(argv, { allowFailure: true });
  if (r.code !== 0) return undefined;
  return /^TYPE=(\S+)$/m.exec(r.stdout)?.[1];
}

/** The type to mount `what` with: probed, and one of MOUNTABLE_TYPES, or why not. */
export async function mountableType(path: string, offset = 0, size = 0): Promise<{ type?: string; problem?: string }> {
  const type = await probeFsType(path, offset, size);
  if (!type) return { problem: `holds no filesystem that subhost mounts (expected ${MOUNTABLE_TYPES.join(', ')})` };
  if (!(MOUNTABLE_TYPES as readonly string[]).includes(type)) return { problem: `holds a ${type} filesystem, which subhost does not mount for a guest (expected ${MOUNTABLE_TYPES.join(', ')})` };
  return { type };
}
