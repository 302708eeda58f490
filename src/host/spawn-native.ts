import { closeSync } from 'node:fs';
import { constants } from 'node:os';
import type { SpawnCalls } from './bpf-addon';
import { net } from './lazy-builtins';
import { PipeReader } from './pipe-reader';

/** How a started child ended: an error (it never ran) or its status, with all its stdout and stderr. */
export type Finish = (error: NodeJS.ErrnoException | null, code: number | null, signal: string | null, stdout: Buffer, stderr: Buffer) => void;

export interface StartOptions {
  input?: string | Buffer;
  cwd?: string;
  timeoutMs?: number;
  extraFds?: number[];
}

/** A signal's name by its number, as child_process reports it. */
export const signalNames = new Map<number, string>(Object.entries(constants.signals).map(([name, n]) => [n, name]));

/** The environment as the addon's spawn takes it (KEY=VALUE strings), argv and it checked as child_process checks them. */
export function nativeEnvp(argv: readonly string[], env: NodeJS.ProcessEnv): string[] {
  const envp = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  // C strings would cut these short where child_process refuses them: refuse them the same way.
  if (argv.length === 0 || [...argv, ...envp].some((s) => s.includes('\0'))) throw new TypeError(`the argv or environment of ${argv[0]} is empty or holds a NUL byte`);
  return envp;
}

/**
 * child_process.spawn's contract for run() through the addon's posix_spawn: finish once the child
 * has been reaped AND its stdout and stderr reached EOF (child_process's 'close'), so a grandchild
 * that keeps a pipe open holds the result back as it does there.
 */
export function startNative(calls: SpawnCalls, argv: readonly string[], env: NodeJS.ProcessEnv, opts: StartOptions, finish: Finish): void {
  const envp = nativeEnvp(argv, env);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let exit: [number | null, string | null] | undefined;
  let open = 2;
  let timer: NodeJS.Timeout | undefined;
  let failed = false;
  const settle = (): void => {
    if (exit && open === 0 && !failed) finish(null, exit[0], exit[1], Buffer.concat(out), Buffer.concat(err));
  };
  const fail = (error: NodeJS.ErrnoException): void => {
    failed = true;
    finish(error, null, null, Buffer.alloc(0), Buffer.alloc(0));
  };
  const onStart = (error: NodeJS.ErrnoException | undefined, pid: number): void => {
    if (error) return fail(error);
    // As child_process's timeout: SIGKILL to the child only, never after it was reaped (its PID may be reused).
    if (opts.timeoutMs && opts.timeoutMs > 0) {
      timer = setTimeout(() => {
        if (!exit) process.kill(pid, 'SIGKILL');
      }, opts.timeoutMs);
    }
  };
  const onExit = (code: number, signo: number): void => {
    clearTimeout(timer);
    exit = signo ? [null, signalNames.get(signo) ?? `SIG${signo}`] : [code, null];
    settle();
  };
  let child: ReturnType<SpawnCalls['spawn']>;
  try {
    // The pipes exist at once; the clone and exec happen on a thread of libuv's pool, then onStart.
    child = calls.spawn(argv, envp, opts.cwd ?? null, opts.extraFds ?? [], onStart, onExit);
  } catch (e) {
    return fail(e as NodeJS.ErrnoException);
  }
  for (const [fd, chunks] of [
    [child.stdout, out],
    [child.stderr, err],
  ] as const) {
    const s = new PipeReader(calls, fd);
    s.on('data', (b: Buffer) => chunks.push(b));
    s.on('error', () => undefined);
    s.on('close', () => {
      open--;
      settle();
    });
  }
  if (opts.input === undefined || opts.input.length === 0) return closeSync(child.stdin);
  const stdin = new (net().Socket)({ fd: child.stdin, readable: false, writable: true });
  // A child that does not read its input (or has ended) makes EPIPE: not an error of the run.
  stdin.on('error', () => undefined);
  stdin.end(opts.input);
}
