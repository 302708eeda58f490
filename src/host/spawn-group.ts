import { closeSync } from 'node:fs';
import { constants } from 'node:os';
import type { SpawnCalls } from './bpf-addon';
import { nativeSpawn } from './exec';
import { childProcess } from './lazy-builtins';
import { PipeReader, type PipeSource } from './pipe-reader';
import { nativeEnvp, signalNames } from './spawn-native';

/** A child that leads a process group of its own, its stdin at EOF, its stdout and stderr as streams. */
export interface GroupChild {
  stdout: PipeSource;
  stderr: PipeSource;
  /** SIGKILL to the whole group: the child and whatever it left running (asked before it started: once it has). */
  killGroup(): void;
  /** Resolves once no process of the group is left (a killed one dies a little later), or after ms. */
  groupGone(ms: number): Promise<void>;
}

export interface GroupEvents {
  /** It never ran (bash is missing, ...). */
  error(e: Error): void;
  /** It ended (its pipes may still be open: a background job can hold them). */
  exit(code: number | null, signal: string | null): void;
}

const { SIGKILL } = constants.signals;

/**
 * kill(-pid, signo); false once no process (a zombie too) is left in group pid. By the addon where
 * it has the call: process.kill throws at ESRCH, the usual answer, and its exception costs 0.3 ms.
 */
function signalGroup(pid: number | undefined, signo: number, calls: SpawnCalls | undefined): boolean {
  if (!pid) return false;
  try {
    if (calls?.signalGroup) return calls.signalGroup(pid, signo);
    process.kill(-pid, signo);
    return true;
  } catch {
    return false;
  }
}

async function waitGroupGone(pid: number | undefined, ms: number, calls: SpawnCalls | undefined): Promise<void> {
  for (const until = Date.now() + ms; signalGroup(pid, 0, calls) && Date.now() < until; ) await new Promise((r) => setTimeout(r, 2));
}

/**
 * Start argv in a process group of its own: through the addon's posix_spawn where run() uses it
 * (Node's fork of the whole process would hold the main thread for some ms), else child_process.
 */
export function spawnGroup(argv: readonly string[], env: NodeJS.ProcessEnv, cwd: string, on: GroupEvents): GroupChild {
  const calls = nativeSpawn();
  if (!calls) {
    const child = childProcess().spawn(argv[0], argv.slice(1), { env, cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    child.on('error', (e) => on.error(e));
    child.on('exit', (code, signal) => on.exit(code, signal));
    return { stdout: child.stdout, stderr: child.stderr, killGroup: () => void signalGroup(child.pid, SIGKILL, undefined), groupGone: (ms) => waitGroupGone(child.pid, ms, undefined) };
  }
  let pid: number | undefined;
  let killAsked = false;
  const envp = nativeEnvp(argv, env);
  const fds = calls.spawn(
    argv,
    envp,
    cwd,
    [],
    (error, started) => {
      if (error) return on.error(error);
      pid = started;
      if (killAsked) signalGroup(pid, SIGKILL, calls);
    },
    (code, signo) => on.exit(signo ? null : code, signo ? (signalNames.get(signo) ?? `SIG${signo}`) : null),
    true,
  );
  // Its stdin at EOF from the start.
  closeSync(fds.stdin);
  return {
    stdout: new PipeReader(calls, fds.stdout),
    stderr: new PipeReader(calls, fds.stderr),
    killGroup: () => {
      killAsked = true;
      signalGroup(pid, SIGKILL, calls);
    },
    groupGone: (ms) => waitGroupGone(pid, ms, calls),
  };
}
