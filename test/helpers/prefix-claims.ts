import { readdirSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { acquireLock, type Lock } from '../../src/host/flock';
import { listLoops } from '../../src/host/loop';
import { readMountinfo } from '../../src/host/mountinfo';
import { listNetns } from '../../src/host/netns';
import { rootPrefixOf } from './env';
import { cleanTestLeftovers, describeLeftovers, findTestLeftovers, removeTestLogsAndLocks, testCgroups } from './leaks';

export const RUN_DIR = '/run/subhost';

/**
 * Objects named PREFIX… (and test roots /var/tmp/subhost-test-PREFIX-…) belong to whoever holds
 * this lock: a test run or the soak. While nobody holds it, what is left under the prefix is a
 * killed run's, and the next run of any prefix may clean it.
 */
export const prefixLockPath = (prefix: string, runDir = RUN_DIR) => join(runDir, '.locks', `.test-${prefix}`);

/** Hold PREFIX for this process; refused (SubhostError) while another process holds it. */
export function claimPrefix(prefix: string, holder: string, runDir = RUN_DIR): Promise<Lock> {
  return acquireLock(prefixLockPath(prefix, runDir), { waitSeconds: 0, subject: `SUBHOST_TEST_PREFIX=${prefix}`, holder });
}

const listDir = (dir: string) => {
  try {
    return readdirSync(dir);
  } catch {
    return []; // not there
  }
};

/** PREFIX's test roots among /var/tmp's entries (full paths). */
const testRootsOf = (prefix: string, varTmp: string[]) => varTmp.filter((p) => p.startsWith(rootPrefixOf(prefix)));

/** Whether anything on the host could be PREFIX's, found without the /proc scan of findTestLeftovers. */
function traceOf(prefix: string, names: string[], paths: string[]): boolean {
  return names.some((n) => n.startsWith(prefix)) || paths.some((p) => p.startsWith(rootPrefixOf(prefix)));
}

/**
 * Clean what test runs of other prefixes left when they were killed outright (no teardown ran):
 * every `.test-XYZ` lock that no process holds, except `own`. Each such prefix is claimed while it
 * is cleaned, so a run starting with it meanwhile waits for nothing and finds it clean. Returns
 * what was found, as lines for the log ('' if nothing).
 */
export async function sweepUnclaimedPrefixes(own: string[], runDir = RUN_DIR): Promise<string> {
  const prefixes = listDir(join(runDir, '.locks'))
    .map((f) => /^\.test-([a-z]{3})$/.exec(f)?.[1])
    .filter((p): p is string => p !== undefined && !own.includes(p));
  if (!prefixes.length) return '';
  const names = [
    ...listDir('/sys/class/net'),
    ...listNetns(),
    ...listDir(runDir),
    ...testCgroups('').map((c) => basename(c.path)),
  ];
  const varTmp = listDir('/var/tmp').map((d) => join('/var/tmp', d));
  // Mount points, loops' backing files and test roots: all under the prefix's root prefix.
  const paths = [...readMountinfo().map((m) => m.mountPoint), ...listLoops().map((l) => l.backingFile), ...varTmp];
  const report: string[] = [];
  for (const prefix of prefixes.filter((p) => traceOf(p, names, paths))) {
    let lock: Lock;
    try {
      lock = await claimPrefix(prefix, 'test run (cleaning a killed run)', runDir);
    } catch {
      continue; // a live run's
    }
    try {
      const left = findTestLeftovers(runDir, prefix, rootPrefixOf(prefix));
      if (left.length) {
        report.push(`SUBHOST_TEST_PREFIX=${prefix} (no run holds it):`, describeLeftovers(left));
        await cleanTestLeftovers(runDir, prefix, rootPrefixOf(prefix));
      }
      // The roots go only once nothing of the kernel still uses them.
      if (!findTestLeftovers(runDir, prefix, rootPrefixOf(prefix)).length) {
        for (const root of testRootsOf(prefix, varTmp)) {
          report.push(`  root: ${root}`);
          rmSync(root, { recursive: true, force: true });
        }
      }
      removeTestLogsAndLocks(runDir, prefix);
    } finally {
      lock.release();
    }
  }
  return report.join('\n');
}

