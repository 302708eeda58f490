import { spawn } from 'node:child_process';
import { CommandError } from '../errors';
import { childEnv, run, type RunOptions, type RunResult } from '../host/exec';

/**
 * Every program bootstrap runs dies with it: setpriv sets PR_SET_PDEATHSIG, so a SIGKILL of
 * `subhost bootstrap` leaves no mke2fs or debootstrap writing into a folder nobody owns.
 */
export function guard(argv: readonly string[]): string[] {
  return ['setpriv', '--pdeathsig', 'KILL', '--', ...argv];
}

/**
 * debootstrap mounts /proc and /sys in its target: run it as PID 1 of its own PID and mount
 * namespaces (private propagation), so its mounts never reach the host and its processes all end
 * when it does; --kill-child ends that PID 1 when unshare dies, and unshare dies with us.
 */
export function isolated(argv: readonly string[]): string[] {
  return guard(['unshare', '--mount', '--propagation', 'private', '--pid', '--fork', '--kill-child', '--', ...argv]);
}

export function runGuarded(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return run(guard(argv), opts);
}

/** Run argv with fd 3 as a pipe read line by line (debootstrap's progress); stdout and stderr kept for the error. */
export function runWithFd3(argv: readonly string[], onLine: (line: string) => void, opts: { env?: Record<string, string> } = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { env: childEnv(opts.env), stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
    const log: Buffer[] = [];
    child.stdout!.on('data', (b: Buffer) => log.push(b));
    child.stderr!.on('data', (b: Buffer) => log.push(b));
    let partial = '';
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (b: Buffer) => {
      const lines = (partial + b.toString()).split('\n');
      partial = lines.pop()!;
      for (const l of lines) onLine(l);
    });
    child.on('error', (e) => reject(new CommandError(argv, null, null, e.message)));
    child.on('close', (code, signal) => {
      if (code === 0) return resolve();
      const text = Buffer.concat(log).toString();
      // The last E: line says why; the log before it is detail.
      const errors = text.split('\n').filter((l) => /^E: /.test(l));
      reject(new CommandError(argv, code, signal, errors.length ? errors.map((l) => l.slice(3)).join('\n') + '\n' + text : text));
    });
  });
}
