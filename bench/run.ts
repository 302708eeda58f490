import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { nowMs } from './stats';
import { optionalAddon } from '../src/host/bpf-addon';

export const BIN = join(__dirname, '../bin/subhost');

export interface Timed {
  ms: number;
  /** CPU time of the command and every child it waited for (cutime + cstime): steady under a loaded host. */
  cpuMs: number;
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run a command to completion and time it (wall clock, as an operator would see it). */
export function timed(argv: string[], env: NodeJS.ProcessEnv = process.env, input?: string): Timed {
  const c0 = childrenCpuMs();
  const t0 = nowMs();
  const r = spawnSync(argv[0], argv.slice(1), { env, encoding: 'utf8', input: input ?? '', maxBuffer: 64 * 1024 * 1024 });
  return { ms: nowMs() - t0, cpuMs: childrenCpuMs() - c0, code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

const TICK_MS = 10; // USER_HZ is 100 on Linux

/**
 * The CPU of waited-for children: in µs from the addon (getrusage), else cutime + cstime (fields 16
 * and 17 of /proc/self/stat) in ticks of 10 ms, too coarse for a ratio of two 50-ms figures.
 */
function childrenCpuMs(): number {
  const micros = optionalAddon()?.childrenCpuMicros;
  if (micros) return micros() / 1000;
  const text = readFileSync('/proc/self/stat', 'utf8');
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return (Number(f[13]) + Number(f[14])) * TICK_MS;
}

/** The environment Node starts in under bin/subhost: without NODE_EXTRA_CA_CERTS, which its sh line moves aside. */
export function nodeStartEnv(): NodeJS.ProcessEnv {
  const { NODE_EXTRA_CA_CERTS: _moved, ...env } = process.env;
  return env;
}

/** bin/subhost itself, as an operator runs it (its sh line keeps NODE_EXTRA_CA_CERTS from Node's start). */
export function subhostArgv(...args: string[]): string[] {
  return buildArgv(BIN, ...args);
}

/** Another build's bin/subhost (`--compare DIR`), run the same way. */
export function buildArgv(bin: string, ...args: string[]): string[] {
  return [bin, ...args];
}

/** Like timed, but a failure stops the bench with what the command said. */
export function must(argv: string[], env?: NodeJS.ProcessEnv, input?: string): Timed {
  const r = timed(argv, env, input);
  if (r.code !== 0) throw new Error(`${argv.slice(argv[0].endsWith('/bin/subhost') ? 1 : argv[1] === BIN ? 2 : 0).join(' ')} exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
  return r;
}
