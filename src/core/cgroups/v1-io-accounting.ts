import { writeFile } from 'node:fs';
import { join } from 'node:path';
import type { CgroupSet } from './subhost-cgroups';

/**
 * On a hybrid host the IO byte count of a cgroup is v1 blkio.throttle.io_service_bytes, and
 * since Linux 6.10 blk-throttle counts IO on a disk only once a throttle rule was written for
 * it ("blk-throttle: delay initialization until configuration"). A rule of 0 (no limit) on each
 * of the subhost's own loop devices switches counting on there and limits nothing. cgroup2's
 * io.stat counts by itself: nothing to do where it exists.
 */
export async function countIoOnV1(set: CgroupSet, devices: string[]): Promise<{ counted: string[]; warnings: string[] }> {
  const out = { counted: [] as string[], warnings: [] as string[] };
  if (set.v2.has('io.stat')) return out;
  const blkio = set.v1For('blkio');
  if (!blkio?.has('blkio.throttle.read_bps_device')) return out;
  const file = join(blkio.path, 'blkio.throttle.read_bps_device');
  // The first rule on a disk freezes its queue for a grace period (~45 ms): all devices at once,
  // without blocking the rest of boot.
  const written = await Promise.allSettled(devices.map((d) => new Promise<void>((resolve, reject) => writeFile(file, `${d} 0`, (e) => (e ? reject(e) : resolve())))));
  written.forEach((w, i) => {
    if (w.status === 'fulfilled') out.counted.push(devices[i]);
    // Accounting only: the subhost runs the same without it, so this is no reason to fail boot.
    else out.warnings.push(`IO on device ${devices[i]} is not counted (cgroup v1 blk-throttle refused it): writing "${devices[i]} 0" to ${file}: ${(w.reason as Error).message}`);
  });
  return out;
}
