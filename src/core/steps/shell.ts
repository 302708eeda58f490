import type { ChildProcess } from 'node:child_process';
import type { Duplex } from 'node:stream';
import { SubhostError } from '../../errors';
import { BASE_PATH } from '../../host/exec';
import { childProcess } from '../../host/lazy-builtins';
import { isMountPointNow } from '../../host/mountinfo';
import type { ProcRef } from '../../host/proc';
import type { StepHandler } from '../plan/executor';
import { CgroupSet } from '../cgroups/subhost-cgroups';
import { resultOf, type SubhostContext } from './context';
import { findPid1, notReadyReason, READY_TIMEOUT_MS, waitReady } from '../guest/pid1';
import { pid1StageEnv, type Pid1Params, type ShellTerminal } from '../guest/pid1-env';
import { nativeProgram } from '../../host/bpf-addon';
import type { PartitionResult } from './disks';

declare module '../plan/subhost-steps' {
  interface SubhostStepKinds {
    'start-shell': StartShellParams;
  }
}

export interface StartShellParams extends Pid1Params {
  terminal: ShellTerminal;
  /** TERM inside. */
  term: string;
}

export interface StartShellResult {
  pid1: ProcRef;
}

// script(1) runs this with /bin/sh; the stage's program comes from the environment, not from a string.
const SCRIPT_COMMAND = 'exec "$SUBHOST_SUPERVISOR" stage';

function exited(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * Start the guest's shell as PID 1 in the foreground, after subhost-init has mounted /proc, /dev
 * and the rest. On a terminal, script(1) gives it a new pty (the caller's terminal stays the
 * caller's; the shell gets a controlling terminal of its own and job control); from a pipe, it
 * reads the caller's stdin. PID 1 waits for ctx.foreground.go() (over the readiness socket)
 * before the shell runs; then the caller waits for ctx.foreground.child to end.
 */
export const startShell: StepHandler<StartShellParams, StartShellResult, SubhostContext> = {
  async apply(p, ctx) {
    // A resume pivots into what hibernation kept: it must still be there.
    if (!isMountPointNow(p.live)) throw new SubhostError(`${p.live} is not mounted any more (\`subhost stop ${ctx.name}\` releases the rest)`);
    const tty = p.terminal === 'tty';
    const stageEnv = pid1StageEnv(p, ctx.cgroupMount, (id) => resultOf<PartitionResult>(ctx, id), ['HOME=/root', `TERM=${p.term}`, `SUBHOST_INIT_SHELL=${tty ? 'login' : 'plain'}`], tty ? 'tty' : 'new');
    const env = { PATH: BASE_PATH, LC_ALL: 'C', SHELL: '/bin/sh', SUBHOST_NAME: ctx.name, SUBHOST_ROOT: ctx.paths.root, SUBHOST_SUPERVISOR: nativeProgram('supervisor'), ...stageEnv };
    const argv = tty ? ['script', '--quiet', '--return', '--command', SCRIPT_COMMAND, '/dev/null'] : [env.SUBHOST_SUPERVISOR, 'stage'];
    // From a pipe, a session of its own: the caller's terminal signals (^C) are not for it.
    const child = childProcess().spawn(argv[0], argv.slice(1), { stdio: ['inherit', 'inherit', 'inherit', 'pipe'], env, detached: !tty });
    let spawnError: string | undefined;
    child.once('error', (e) => (spawnError = e.message));
    const started = child.pid !== undefined;
    const ready = child.stdio[3] as Duplex | null;
    const outcome = ready ? await waitReady(ready, READY_TIMEOUT_MS, true) : 'eof';
    const cgroups = CgroupSet.at(ctx.cgroupMount, p.cgroup);
    const pid1 = outcome === 'ready' ? findPid1(cgroups.v2) : undefined;
    if (!started || !pid1) {
      ready?.destroy();
      // Ending PID 1 and its parent ends script too, which then gives the terminal back as it was.
      cgroups.v2.kill();
      await cgroups.v2.waitEmpty(5000);
      await exited(child, 5000);
      // A stage that hung before joining the cgroup (the timeout) is not in it: end it (and script) by PID.
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      throw new SubhostError(`the shell did not start as PID 1: ${notReadyReason(outcome, spawnError)}`);
    }
    // Once written, "go" stays readable in the socket after our end is closed.
    ctx.foreground = { child, go: () => ready!.end('go\n', () => ready!.destroy()) };
    return { pid1 };
  },
};
