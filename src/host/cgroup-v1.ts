import { readMountsOfTypes, type MountEntry } from './mountinfo';

/** v1 controllers a subhost is placed under on a hybrid host, for accounting, limits and devices. */
export const V1_CONTROLLERS = ['cpu', 'cpuacct', 'memory', 'pids', 'blkio', 'devices'] as const;
export type V1Controller = (typeof V1_CONTROLLERS)[number];

export interface V1Hierarchy {
  mountPoint: string;
  /** Controllers bound to this hierarchy (cpu and cpuacct often share one). */
  controllers: V1Controller[];
}

/**
 * The cgroup v1 hierarchies of a hybrid host that carry controllers we use. Empty on a pure v2
 * host. Only hierarchies mounted at their root are used: a v1 mount of a subtree is not ours.
 */
let cached: V1Hierarchy[] | undefined;

export function findV1Hierarchies(entries?: MountEntry[]): V1Hierarchy[] {
  // The host's hierarchies do not change during one command: read mountinfo once, not at every cgroup.
  return entries ? v1Of(entries) : (cached ??= v1Of(readMountsOfTypes(['cgroup'])));
}

/** The host's mounts as read for something else (the cgroup2 mount): this command's hierarchies, unless found already. */
export function noteV1Hierarchies(entries: MountEntry[]): void {
  cached ??= v1Of(entries);
}

function v1Of(entries: MountEntry[]): V1Hierarchy[] {
  const seen = new Set<string>();
  const out: V1Hierarchy[] = [];
  for (const e of entries) {
    if (e.fsType !== 'cgroup' || e.root !== '/') continue;
    const controllers = e.superOptions.filter((o): o is V1Controller => (V1_CONTROLLERS as readonly string[]).includes(o));
    if (!controllers.length || seen.has(e.majorMinor)) continue;
    seen.add(e.majorMinor);
    out.push({ mountPoint: e.mountPoint, controllers });
  }
  return out;
}
