import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { nowMs } from './stats';

export const BIN = join(__dirname, '../bin/subhost');

export interface Timed {
  ms: number;
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run a command to completion and time it (wall clock, as an operator would see it). */
export function timed(argv: string[], env: NodeJS.ProcessEnv = process.env, input?: string): Timed {
  const t0 = nowMs();
  const r = spawnSync(argv[0], argv.slice(1), { env, encoding: 'utf8', input: input ?? '', maxBuffer: 64 * 1024 * 1024 });
  return { ms: nowMs() - t0, code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

export function subhostArgv(...args: string[]): string[] {
  return [process.execPath, BIN, ...args];
}

/** Like timed, but a failure stops the bench with what the command said. */
export function must(argv: string[], env?: NodeJS.ProcessEnv, input?: string): Timed {
  const r = timed(argv, env, input);
  if (r.code !== 0) throw new Error(`${argv.slice(argv[1] === BIN ? 2 : 0).join(' ')} exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
  return r;
}
