import { existsSync, readdirSync } from 'node:fs';
import { readFileOr } from '../../host/read-file';
import { readMountinfo } from '../../host/mountinfo';
import type { Identity } from '../../host/file-identity';
import type { LoopIdentity } from '../../host/loop-identity';

/** The sysfs folders of a disk (MAJ:MIN) and of its partitions. */
function diskAndPartitionDirs(majorMinor: string): string[] {
  const dir = `/sys/dev/block/${majorMinor}`;
  return [dir, ...readdirSafe(dir).filter((e) => existsSync(`${dir}/${e}/partition`)).map((e) => `${dir}/${e}`)];
}

/** The block devices (MAJ:MIN) of a disk and of its partitions, from /sys/dev/block. */
export function deviceAndPartitions(majorMinor: string): string[] {
  const parts = diskAndPartitionDirs(majorMinor).slice(1).flatMap((d) => readFileOr(`${d}/dev`)?.trim() || []);
  return [majorMinor, ...parts];
}

/** Who holds a block device or one of its partitions (device mapper, RAID, bcache: /sys/.../holders). */
function holdersOf(majorMinor: string): string[] {
  return diskAndPartitionDirs(majorMinor).flatMap((d) => readdirSafe(`${d}/holders`));
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * Why the image of this identity is in use on the host, or undefined: a loop device has it (by its
 * backing file's identity, however the path was spelled), or, for a block device, the host has it
 * (or one of its partitions) mounted, or something holds it (LVM, RAID). Read-only.
 */
export function inUseBy(identity: Identity, loops: LoopIdentity[]): string | undefined {
  const loop = loops.find((l) => l.identity === identity);
  if (loop) return `is already attached to ${loop.dev} (in use, or left over: \`subhost check-mounts\`)`;
  const block = /^b:(\d+:\d+)$/.exec(identity)?.[1];
  if (!block) return undefined;
  const devs = new Set(deviceAndPartitions(block));
  // Read only for a block device: an image file is never mounted itself, only through a loop.
  const mounted = readMountinfo().find((m) => devs.has(m.majorMinor));
  if (mounted) return `is mounted by the host on ${mounted.mountPoint}`;
  const holders = holdersOf(block);
  if (holders.length) return `is held by ${holders.join(', ')} on the host`;
  const swap = (readFileOr('/proc/swaps') ?? '').split('\n').slice(1).find((l) => l.trim() && devs.has(swapDev(l.split(/\s+/)[0])));
  if (swap) return 'is a swap device of the host';
  return undefined;
}

function swapDev(path: string): string {
  const name = path.split('/').pop() ?? '';
  return readFileOr(`/sys/class/block/${name}/dev`)?.trim() ?? '';
}
