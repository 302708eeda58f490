import { existsSync } from 'node:fs';
import { spawn, spawnSync, type ChildProcess, type StdioOptions } from 'node:child_process';
import { join } from 'node:path';

/** bin/subhost of this checkout: from test/helpers in the sources, from dist/ when bundled (demo, soak). */
export const BIN = ['../../bin/subhost', '../bin/subhost'].map((p) => join(__dirname, p)).find((p) => existsSync(p)) ?? join(__dirname, '../../bin/subhost');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  root?: string;
  env?: Record<string, string | undefined>;
  input?: string;
  timeoutMs?: number;
  /** Descriptors of this process that the CLI gets as its fd 3, 4, … (what a careless caller leaves open). */
  fds?: number[];
  /** A command the CLI runs under, e.g. nsenter --uts=FILE, setpriv … --, ip netns exec NS. */
  via?: string[];
}

function env(opts: CliOptions): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, ...(opts.root ? { SUBHOST_ROOT: opts.root } : {}), ...opts.env };
  for (const [k, v] of Object.entries(e)) if (v === undefined) delete e[k];
  return e;
}

// BIN itself, as an operator runs it: its sh line moves NODE_EXTRA_CA_CERTS aside before Node starts.
const argv = (args: string[], opts: CliOptions) => [...(opts.via ?? []), BIN, ...args];

/** Run the real, built CLI (bin/subhost), as an operator would. */
export function cli(args: string[], opts: CliOptions = {}): CliResult {
  const stdio: StdioOptions | undefined = opts.fds ? ['pipe', 'pipe', 'pipe', ...opts.fds] : undefined;
  const [cmd, ...rest] = argv(args, opts);
  const r = spawnSync(cmd, rest, { env: env(opts), stdio, input: opts.input ?? '', encoding: 'utf8', timeout: opts.timeoutMs ?? 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The same, without blocking the test (for races and parallel boots). */
export function cliAsync(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawnCli(args, opts);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (b) => (stdout += b));
    child.stderr!.on('data', (b) => (stderr += b));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The CLI as a child process of the test (to follow its output, signal it, or run it through `via`, e.g. ip netns exec NS). */
export function spawnCli(args: string[], opts: Omit<CliOptions, 'input' | 'timeoutMs' | 'fds'> & { stdio?: StdioOptions } = {}): ChildProcess {
  const [cmd, ...rest] = argv(args, opts);
  return spawn(cmd, rest, { env: env(opts), stdio: opts.stdio ?? ['ignore', 'pipe', 'pipe'] });
}

/** Run and insist on success; the error shows what the CLI said. */
export function ok(args: string[], opts: CliOptions = {}): CliResult {
  const r = cli(args, opts);
  if (r.code !== 0) throw new Error(`subhost ${args.join(' ')} exited ${r.code}: ${r.stderr}${r.stdout}`);
  return r;
}
