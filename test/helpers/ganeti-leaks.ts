import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../src/host/exec';
import type { Leftover } from './leaks';

/** The test cluster's script (absent where the helpers are bundled: the soak makes no cluster). */
const SCRIPT = join(__dirname, 'ganeti-cluster.sh');
/** The cluster's run folder: its UTS namespace file, ssh keys, file storage, blockdev images. */
export const GNT_RUN = `/var/tmp/subhost-test-${process.env.SUBHOST_TEST_PREFIX ?? 'tst'}-ganeti`;

const readOr = (path: string) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
};

/**
 * What the test Ganeti cluster of this prefix leaves outside the kernel objects the leak check
 * already judges (its netns, bridge, veth, UTS mount and loops carry the prefix; its daemons and
 * sshd carry SUBHOST_TEST_GANETI): the /etc/hosts block, Ganeti's files, the OS, /dev/disk links.
 */
export function ganetiLeftovers(prefix: string): Leftover[] {
  const run = `/var/tmp/subhost-test-${prefix}-ganeti`;
  const out: Leftover[] = [];
  const add = (id: string) => out.push({ kind: 'ganeti', id, subhost: 'ganeti' });
  if (readOr('/etc/hosts').includes(`# subhost-test-${prefix} ganeti`)) add('/etc/hosts block');
  if (readOr('/etc/ganeti/file-storage-paths').includes(run)) {
    add('/etc/ganeti/file-storage-paths');
    if (existsSync('/var/run/ganeti')) add('/var/run/ganeti');
  }
  for (const p of [run, `/srv/ganeti/os/subhost-test-${prefix}`, `/dev/disk/subhost-test-${prefix}`]) if (existsSync(p)) add(p);
  return out;
}

/** Tear the cluster down (ganeti-cluster.sh down: idempotent, by PID and by name, never by pattern). */
export async function ganetiDown(prefix = process.env.SUBHOST_TEST_PREFIX ?? 'tst'): Promise<void> {
  if (!existsSync(SCRIPT)) return;
  await run(['bash', SCRIPT, 'down'], { env: { SUBHOST_TEST_PREFIX: prefix }, timeoutMs: 180_000 });
}
