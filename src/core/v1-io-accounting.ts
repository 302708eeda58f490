import type { CgroupSet } from './subhost-cgroups';

/**
 * On a hybrid host the IO byte count of a cgroup is v1 blkio.throttle.io_service_bytes, and
 * since Linux 6.10 blk-throttle counts IO on a disk only once a throttle rule was written for
 * it ("blk-throttle: delay initialization until configuration"). A rule of 0 (no limit) on each
 * of the subhost's own loop devices switches counting on there and limits nothing. cgroup2's
 * io.stat counts by itself: nothing to do where it exists.
 */
export function countIoOnV1(set: CgroupSet, devices: string[]): string[] {
  if (set.v2.has('io.stat')) return [];
  const blkio = set.v1For('blkio');
  if (!blkio?.has('blkio.throttle.read_bps_device')) return [];
  for (const d of devices) blkio.set('blkio.throttle.read_bps_device', `${d} 0`);
  return devices;
}
