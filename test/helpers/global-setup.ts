import { existsSync } from 'node:fs';
import { PREFIX } from './env';
import { ganetiDown, GNT_RUN } from './ganeti-leaks';
import { cleanTestLeftovers, describeLeftovers, findTestLeftovers, removeTestLogsAndLocks } from './leaks';
import { claimPrefix, sweepUnclaimedPrefixes } from './prefix-claims';

/** vitest reports an error thrown in a teardown but still exits 0: the exit code must say it. */
function failRun(): void {
  process.exitCode = 1;
  process.on('exit', () => {
    process.exitCode = 1;
  });
}

/** Before: take the prefix's lock, start clean. After: fail the run if any test left a kernel object or process behind. */
export async function setup(): Promise<() => Promise<void>> {
  // Two runs with one prefix would clean up each other's objects: the second refuses instead.
  const lock = await claimPrefix(PREFIX, 'test run').catch((err: Error) => {
    throw new Error(`another test run uses SUBHOST_TEST_PREFIX=${PREFIX} (${err.message}): give this one a prefix of its own`);
  });
  try {
    const before = findTestLeftovers();
    if (before.length) {
      process.stderr.write(`leak check: cleaning what an earlier run left:\n${describeLeftovers(before)}\n`);
      await cleanTestLeftovers();
    }
    const killed = await sweepUnclaimedPrefixes([PREFIX]);
    if (killed) process.stderr.write(`leak check: cleaning what killed runs of other prefixes left:\n${killed}\n`);
  } catch (err) {
    lock.release();
    throw err;
  }
  return async () => {
    try {
      // The Ganeti tests share one cluster across files: it goes now, and the check below judges that it went.
      if (existsSync(GNT_RUN)) await ganetiDown(PREFIX);
      const left = findTestLeftovers();
      removeTestLogsAndLocks();
      if (!left.length) {
        process.stdout.write('leak check: no mount, loop device, veth, bridge, netns, cgroup, process or state of the tests remains\n');
        return;
      }
      // Failed before cleaning: a leftover that cannot be cleaned must fail the run too.
      failRun();
      process.stderr.write(`leak check FAILED: the tests left these behind:\n${describeLeftovers(left)}\n`);
      await cleanTestLeftovers();
      const still = findTestLeftovers();
      process.stderr.write(still.length ? `leak check: these could not be cleaned up:\n${describeLeftovers(still)}\n` : 'leak check: cleaned them up\n');
    } catch (err) {
      failRun();
      throw err;
    } finally {
      lock.release();
    }
  };
}
