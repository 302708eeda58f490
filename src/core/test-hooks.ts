/**
 * Test-only fault injection, so the crash-recovery tests can kill a command at every point a
 * real crash could hit: SUBHOST_TEST_KILL_AT=<point> makes the command SIGKILL itself there.
 * Points: boot:before:<step id>, boot:after:<step id> (applied, not yet recorded),
 * stop:marked, stop:killed, stop:undo:<step id>, stop:undone, stop:swept,
 * poweroff:signalled, poweroff:waited. (SUBHOST_TEST_KILL_AT_STEP=N: boot, before step N.)
 * Never set outside the tests.
 */
export function crashPoint(env: NodeJS.ProcessEnv, point: string): void {
  if (env.SUBHOST_TEST_KILL_AT === point) process.kill(process.pid, 'SIGKILL');
}
