import { mountsUnder, readMountinfo, type MountEntry } from '../../host/mountinfo';
import { isAlive } from '../../host/proc';
import { fsSpace, type FsSpace } from '../../host/statfs';
import type { StateRecord } from '../state/records';
import { subhostMountDirs } from './resources';

/** Filesystems that hold no disk data (kernel views, memory): not what a space check is about. */
export const VIRTUAL_FS = new Set([
  'proc', 'sysfs', 'devpts', 'tmpfs', 'devtmpfs', 'ramfs', 'mqueue', 'cgroup', 'cgroup2', 'debugfs', 'tracefs',
  'securityfs', 'pstore', 'bpf', 'configfs', 'fusectl', 'hugetlbfs', 'autofs', 'binfmt_misc', 'nsfs', 'rpc_pipefs', 'efivarfs',
]);

export interface FsUsage extends FsSpace {
  /** Where the guest sees it (/, /data); a host path for what only the host has mounted. */
  mountPoint: string;
  /** The path statfs(2) was called on (through /proc/PID1/root for the guest's own mounts). */
  hostPath: string;
  source: string;
  fsType: string;
  overThreshold: boolean;
}

/**
 * Every disk filesystem of an active subhost: what its guest has mounted (seen through PID 1's
 * mount namespace), and what the host has mounted for it (live, mnt), each filesystem once.
 */
export function subhostFilesystems(rec: StateRecord, thresholdPercent: number, hostMounts: MountEntry[] = readMountinfo()): FsUsage[] {
  const out: FsUsage[] = [];
  const seen = new Set<string>();
  const add = (m: MountEntry, mountPoint: string, hostPath: string) => {
    const key = `${m.majorMinor} ${m.root}`;
    if (VIRTUAL_FS.has(m.fsType) || seen.has(key)) return;
    const space = fsSpace(hostPath);
    if (!space) return;
    seen.add(key);
    const overThreshold = space.usedPercent >= thresholdPercent || space.inodesUsedPercent >= thresholdPercent;
    out.push({ mountPoint, hostPath, source: m.source, fsType: m.fsType, ...space, overThreshold });
  };
  if (rec.pid1 && isAlive(rec.pid1)) {
    const pid = rec.pid1.pid;
    let guest: MountEntry[] = [];
    try {
      guest = readMountinfo(pid);
    } catch {
      /* PID 1 ended meanwhile */
    }
    for (const m of guest) add(m, m.mountPoint, `/proc/${pid}/root${m.mountPoint === '/' ? '' : m.mountPoint}`);
  }
  for (const dir of subhostMountDirs(rec.root, rec.name)) {
    for (const m of mountsUnder(hostMounts, dir).reverse()) add(m, m.mountPoint, m.mountPoint);
  }
  return out;
}
