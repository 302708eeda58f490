import { existsSync } from 'node:fs';
import { mountsUnder, readMountinfo, readMountsAt, type MountEntry } from '../../host/mountinfo';
import { readCmdline } from '../../host/proc';
import type { Runtime } from './runtime';
import { type DerivedState, type StateRecord, deriveRead, readRecord } from './records';
import { subhostCgroupSet } from '../cgroups/subhost-cgroups';
import { subhostLinks, subhostMountDirs } from '../inspect/resources';
import { listMonitorProcs, type MonitorProc } from '../lifecycle/supervisors';

/**
 * The host-wide readings kernelEvidence needs (every supervisor, every mount), read once by a
 * command that asks about many subhosts (list): per name they would be a scan per subhost.
 */
export interface HostView {
  monitor?: MonitorProc[];
  mounts?: MountEntry[];
}

export interface Known {
  name: string;
  record?: StateRecord;
  derived: DerivedState;
}

/**
 * What the kernel shows of NAME without a record: its cgroup, its supervisor, its marked links, mounts on its folder.
 * Without a view (one name: boot's and stop's check) only NAME's monitor cgroup is read, not every subhost's.
 */
export function kernelEvidence(rt: Runtime, name: string, view?: HostView): string | undefined {
  if (subhostCgroupSet(rt.cgroupMount, name).existing().length) return 'its cgroup';
  const monitor = view ? (view.monitor ??= listMonitorProcs(rt.cgroupMount)) : listMonitorProcs(rt.cgroupMount, name);
  // Not a `_reap` (the supervisor exec'd): it releases NAME, or boots it again after a guest's reboot.
  if (monitor.some((p) => p.name === name && p.pid !== process.pid && !readCmdline(p.pid).includes('_reap'))) return 'its supervisor';
  if (subhostLinks(name).length) return 'its network links';
  const dirs = subhostMountDirs(rt.paths.root, name).filter((d) => existsSync(d));
  const mounts = view ? (view.mounts ??= readMountinfo()) : readMountsAt(dirs);
  if (dirs.some((d) => mountsUnder(mounts, d).length)) return 'a mount on its folder';
  return undefined;
}

/** NAME's record and state: a corrupt record, or none with NAME still in the kernel, is `failed`. */
export function known(rt: Runtime, name: string, view?: HostView): Known {
  const read = readRecord(rt.paths, name);
  return { name, record: read.record, derived: deriveRead(name, read, () => kernelEvidence(rt, name, view)) };
}
