import { closeSync } from 'node:fs';
import { sessionCalls } from './bpf-addon';
import { nativeSpawn, run } from './exec';
import { childProcess } from './lazy-builtins';
import { PipeReader, type PipeSource } from './pipe-reader';
import { nativeEnvp } from './spawn-native';

/** A process that leads a session of its own and outlives us, with a pipe from its descriptor 3. */
export interface SessionChild {
  /** Undefined when it could not be started (error says why). */
  pid?: number;
  error?: string;
  /** The read end of its descriptor 3. */
  fd3: PipeSource;
}

/**
 * Start argv (an absolute path) in a new session: stdin /dev/null, stdout and stderr on outFd, a
 * pipe on descriptor 3, nothing else. Through the addon's posix_spawn where run() uses the addon:
 * Node's spawn forks the whole process on the main thread, about 5 ms here. It is never reaped by
 * us: it lives on after we exit.
 */
export function spawnSession(argv: readonly string[], env: NodeJS.ProcessEnv, outFd: number): SessionChild {
  const spawn = nativeSpawn();
  const calls = spawn ? sessionCalls() : undefined;
  if (!spawn || !calls) {
    const child = childProcess().spawn(argv[0], argv.slice(1), { detached: true, stdio: ['ignore', outFd, outFd, 'pipe'], env });
    const started: SessionChild = { pid: child.pid, fd3: child.stdio[3] as PipeSource };
    child.once('error', (e) => (started.error = e.message));
    child.unref();
    return started;
  }
  const [readEnd, writeEnd] = calls.pipe();
  try {
    const pid = calls.spawnSession(argv, nativeEnvp(argv, env), [-1, outFd, outFd, writeEnd]);
    return { pid, fd3: new PipeReader(spawn, readEnd) };
  } catch (err) {
    // Ended at once, as the pipe of a child that never ran: its write end is closed below.
    return { error: (err as Error).message, fd3: new PipeReader(spawn, readEnd) };
  } finally {
    closeSync(writeEnd);
  }
}

/** mkfifo PATH with MODE: a system call through the addon where run() uses it, else mkfifo(1). */
export async function makeFifo(path: string, mode: number): Promise<void> {
  const calls = nativeSpawn() ? sessionCalls() : undefined;
  if (calls) calls.mkfifo(path, mode);
  else await run(['mkfifo', '-m', mode.toString(8), path]);
}
