/**
 * Test-only fault injection, so the crash-recovery tests can kill a command at every point a
 * real crash could hit: SUBHOST_TEST_KILL_AT=<point> makes the command SIGKILL itself there.
 * Points: boot:before:<step id>, boot:after:<step id> (applied, not yet recorded), the same for
 * start, stop:marked, stop:killed, stop:network (before the links and the netns go),
 * stop:undo:<step id>, stop:undone, stop:swept, poweroff:signalled, poweroff:waited,
 * daemon:insert:<N> (the daemon's Nth sample written, not committed).
 * SUBHOST_TEST_KILL_AT_STEP=N: boot or start (or a resume), before step N of its plan.
 * SUBHOST_TEST_PAUSE_AT=<point> sleeps there instead (SUBHOST_TEST_PAUSE_MS, default 1000), to
 * widen a race window: boot:checked, start:checked (images and MACs checked, not yet recorded).
 * Never set outside the tests.
 */
export function crashPoint(env: NodeJS.ProcessEnv, point: string): void {
  if (env.SUBHOST_TEST_KILL_AT === point) process.kill(process.pid, 'SIGKILL');
}

export function killAtStep(env: NodeJS.ProcessEnv, index: number): void {
  if (Number(env.SUBHOST_TEST_KILL_AT_STEP) === index + 1) process.kill(process.pid, 'SIGKILL');
}

export async function pausePoint(env: NodeJS.ProcessEnv, point: string): Promise<void> {
  if (env.SUBHOST_TEST_PAUSE_AT === point) await new Promise((r) => setTimeout(r, Number(env.SUBHOST_TEST_PAUSE_MS ?? 1000)));
}
