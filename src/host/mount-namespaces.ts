import { readlinkSync } from 'node:fs';
import { readMountinfo } from './mountinfo';
import { listPids, readStat } from './proc';

export interface ForeignMount {
  /** One process of that mount namespace (the lowest PID seen in it). */
  pid: number;
  comm: string;
  mountPoint: string;
  majorMinor: string;
}

function mountNamespace(pid: number | 'self'): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/mnt`);
  } catch {
    return undefined; // gone, or a kernel thread
  }
}

/**
 * Mounts of these block devices (MAJ:MIN) in mount namespaces other than ours: a process that made
 * a private mount namespace (`unshare --mount`, a service with PrivateTmp) while a subhost ran
 * holds copies of its mounts, and with them its loop devices, until that namespace ends. Reads
 * one mountinfo per namespace; meant for explaining a failure, not for a hot path.
 */
export function mountsInOtherNamespaces(majorMinors: ReadonlySet<string>): ForeignMount[] {
  const ours = mountNamespace('self');
  const seen = new Set<string>(ours ? [ours] : []);
  const out: ForeignMount[] = [];
  for (const pid of listPids()) {
    const ns = mountNamespace(pid);
    if (!ns || seen.has(ns)) continue;
    seen.add(ns);
    let entries;
    try {
      entries = readMountinfo(pid);
    } catch {
      continue; // ended meanwhile
    }
    const comm = readStat(pid)?.comm ?? '?';
    for (const m of entries) if (majorMinors.has(m.majorMinor)) out.push({ pid, comm, mountPoint: m.mountPoint, majorMinor: m.majorMinor });
  }
  return out;
}

/** "mounted on /x in the mount namespace of PID 12 (unshare)", one clause per namespace. */
export function describeForeignMounts(mounts: ForeignMount[]): string {
  const byPid = new Map<number, ForeignMount[]>();
  for (const m of mounts) byPid.set(m.pid, [...(byPid.get(m.pid) ?? []), m]);
  return [...byPid.values()].map((ms) => `mounted on ${ms.map((m) => m.mountPoint).join(', ')} in the mount namespace of PID ${ms[0].pid} (${ms[0].comm})`).join('; ');
}
