/**
 * Test-only fault injection, so the crash-recovery tests can kill a command at every point a
 * real crash could hit: SUBHOST_TEST_KILL_AT=<point> makes the command SIGKILL itself there.
 * Points: boot:before:<step id>, boot:after:<step id> (applied, not yet recorded), the same for
 * start, stop:marked, stop:killed, stop:network (before the links and the netns go),
 * stop:undo:<step id>, stop:undone, stop:swept, poweroff:signalled, poweroff:waited,
 * bootstrap:built (the root is in the staging folder), bootstrap:moved-aside (--force: the old
 * folder renamed away, the new one not yet in place), daemon:insert:<N> (the daemon's Nth sample
 * written, not committed).
 * SUBHOST_TEST_KILL_AT_STEP=N: boot or start (or a resume), before step N of its plan.
 * SUBHOST_TEST_PAUSE_AT=<point> sleeps there instead (SUBHOST_TEST_PAUSE_MS, default 1000), to
 * widen a race window: boot:checked, start:checked (images and MACs checked, not yet recorded).
 * SUBHOST_TEST_DEVICES=bpf: no v1 devices rules even where the host has that controller
 * (src/core/cgroups/devices.ts), so that the device eBPF program alone is tested on a hybrid host.
 * Compiled in only by a test build (`SUBHOST_TEST_BUILD=1 npm run build`, as `npm test` does;
 * vitest defines it too): in the shipped bundle these functions are empty.
 */
declare const SUBHOST_TEST_HOOKS: boolean;
// On in a test build (esbuild's define) and in what the tests load from src/ (test/helpers/test-build.ts);
// spelled out in each test below so that a shipped build folds it to false and drops the hook.

export function crashPoint(env: NodeJS.ProcessEnv, point: string): void {
  if (typeof SUBHOST_TEST_HOOKS !== 'undefined' && SUBHOST_TEST_HOOKS && env.SUBHOST_TEST_KILL_AT === point) process.kill(process.pid, 'SIGKILL');
}

export function killAtStep(env: NodeJS.ProcessEnv, index: number): void {
  if (typeof SUBHOST_TEST_HOOKS !== 'undefined' && SUBHOST_TEST_HOOKS && Number(env.SUBHOST_TEST_KILL_AT_STEP) === index + 1) process.kill(process.pid, 'SIGKILL');
}

export async function pausePoint(env: NodeJS.ProcessEnv, point: string): Promise<void> {
  if (typeof SUBHOST_TEST_HOOKS !== 'undefined' && SUBHOST_TEST_HOOKS && env.SUBHOST_TEST_PAUSE_AT === point) await new Promise((r) => setTimeout(r, Number(env.SUBHOST_TEST_PAUSE_MS ?? 1000)));
}

/** SUBHOST_TEST_DEVICES=bpf: the device eBPF program alone, without the v1 rules of a hybrid host. */
export function bpfDevicesOnly(env: NodeJS.ProcessEnv): boolean {
  return typeof SUBHOST_TEST_HOOKS !== 'undefined' && SUBHOST_TEST_HOOKS && env.SUBHOST_TEST_DEVICES === 'bpf';
}
