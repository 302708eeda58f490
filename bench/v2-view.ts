import { spawnSync } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { findCgroup2Mount, readCgroupMounts } from '../src/host/cgroupfs';
import { run } from '../src/host/exec';

/** Set in the bench that runs inside the view (its own mount namespace). */
const IN_VIEW = 'SUBHOST_BENCH_V2_VIEW';

const v1Mounts = () => readCgroupMounts().filter((m) => m.fsType === 'cgroup');

/**
 * `--v2-view` on a hybrid host: the bench again, in a mount namespace of its own (unshare -m, private
 * propagation), where the v1 hierarchies are unmounted and cgroup2 is mounted on /sys/fs/cgroup, so
 * that subhost takes the path of a pure cgroup v2 host (production, SPEC §7): no v1 writes, the
 * device program in place of the devices hierarchy. The host's own mounts are not touched; the
 * namespace ends with the bench. Returns the exit status of that run, or undefined where the bench
 * runs here itself (already in the view, or a host that is pure v2).
 */
export function rerunInV2View(argv: string[]): number | undefined {
  if (process.env[IN_VIEW] || !v1Mounts().length) return undefined;
  const r = spawnSync('unshare', ['--mount', '--propagation', 'private', process.execPath, ...process.execArgv, ...argv], { stdio: 'inherit', env: { ...process.env, [IN_VIEW]: '1' } });
  if (r.error) throw new Error(`--v2-view: cannot run unshare: ${r.error.message}`);
  return r.status ?? 1;
}

/** Inside the view's namespace: the v1 hierarchies gone, cgroup2 on /sys/fs/cgroup. What it did, for the header. */
export async function makeV2View(): Promise<string> {
  if (!process.env[IN_VIEW]) return v1Mounts().length ? 'hybrid cgroups' : 'pure cgroup v2';
  // The variable alone proves nothing: the host's hierarchies are never unmounted. rerunInV2View's
  // unshare execs this bench in a namespace of its own, a child of the bench that ran it.
  if (readlinkSync('/proc/self/ns/mnt') === readlinkSync(`/proc/${process.ppid}/ns/mnt`)) throw new Error(`${IN_VIEW} is set, but this is the host's mount namespace`);
  const v1 = v1Mounts();
  for (const m of v1.reverse()) await run(['umount', m.mountPoint]);
  const v2 = findCgroup2Mount();
  if (v2 !== '/sys/fs/cgroup') await run(['mount', '--bind', v2, '/sys/fs/cgroup']);
  return `a pure cgroup v2 view of this hybrid host (--v2-view: ${v1.length} v1 hierarchies unmounted in the bench's own mount namespace)`;
}
