import { cleanTestLeftovers, describeLeftovers, findTestLeftovers, removeTestLogsAndLocks } from './leaks';

/** Before: start clean. After: fail the run if any test left a kernel object or process behind. */
export async function setup(): Promise<() => Promise<void>> {
  const before = findTestLeftovers();
  if (before.length) {
    process.stderr.write(`leak check: cleaning what an earlier run left:\n${describeLeftovers(before)}\n`);
    await cleanTestLeftovers();
  }
  return async () => {
    const left = findTestLeftovers();
    removeTestLogsAndLocks();
    if (!left.length) {
      process.stdout.write('leak check: no mount, loop device, veth, bridge, netns, cgroup, process or state of the tests remains\n');
      return;
    }
    await cleanTestLeftovers();
    process.stderr.write(`leak check FAILED: the tests left these behind (now cleaned up):\n${describeLeftovers(left)}\n`);
    // vitest reports an error thrown here but still exits 0: the exit code must say it.
    process.exitCode = 1;
    process.on('exit', () => {
      process.exitCode = 1;
    });
  };
}
