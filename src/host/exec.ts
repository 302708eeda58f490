import type { StdioOptions } from 'node:child_process';
import { CommandError } from '../errors';
import { blkidCalls, netnsAddressCalls, netnsCalls, spawnCalls, teardownCalls, vethCalls, type BlkidCalls, type NetnsAddressCalls, type NetnsCalls, type SpawnCalls, type TeardownCalls, type VethCalls } from './bpf-addon';
import { childProcess } from './lazy-builtins';
import { type Finish, startNative } from './spawn-native';
import { monotonicMs } from './clock';

export interface RunOptions {
  input?: string | Buffer;
  /** Extra environment; LC_ALL=C is always set so messages and formats are stable. */
  env?: Record<string, string | undefined>;
  /** Replace the environment entirely (still with LC_ALL=C). */
  cleanEnv?: boolean;
  cwd?: string;
  timeoutMs?: number;
  /** Return the result instead of throwing when the exit status is not zero. */
  allowFailure?: boolean;
  /** Extra file descriptors for the child, after stdin/stdout/stderr. */
  extraFds?: number[];
}

export interface RunResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

export const BASE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export function childEnv(extra?: Record<string, string | undefined>, clean = false): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = clean ? { PATH: BASE_PATH } : { ...process.env };
  if (!env.PATH) env.PATH = BASE_PATH;
  Object.assign(env, extra ?? {});
  env.LC_ALL = 'C';
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  return env;
}

let spawnCallsChosen: SpawnCalls | null | undefined;

/** Which spawn run() uses, chosen once: the addon's posix_spawn, or child_process where it is missing or SUBHOST_SPAWN=node. */
export function spawnPath(): 'native' | 'node' {
  if (spawnCallsChosen === undefined) spawnCallsChosen = process.env.SUBHOST_SPAWN === 'node' ? null : (spawnCalls() ?? null);
  return spawnCallsChosen ? 'native' : 'node';
}

/** The addon's spawn where run() uses it (spawnPath() is 'native'), else undefined. */
export function nativeSpawn(): SpawnCalls | undefined {
  return spawnPath() === 'native' ? spawnCallsChosen! : undefined;
}

/** The addon's umount2 and LOOP_CLR_FD where run() uses the addon (SUBHOST_SPAWN=node: the tools, as without it). */
export function nativeTeardown(): TeardownCalls | undefined {
  return nativeSpawn() ? teardownCalls() : undefined;
}

/** The addon's `ip netns add` where run() uses the addon (SUBHOST_SPAWN=node: ip, as without it). */
export function nativeNetns(): NetnsCalls | undefined {
  return nativeSpawn() ? netnsCalls() : undefined;
}

/** The addon's veth requests where run() uses the addon (SUBHOST_SPAWN=node: `ip -batch`, as without it). */
export function nativeVeths(): VethCalls | undefined {
  return nativeSpawn() ? vethCalls() : undefined;
}

/** The addon's address dumps in namespaces where run() uses the addon (SUBHOST_SPAWN=node: `ip -n`, as without it). */
export function nativeNetnsAddresses(): NetnsAddressCalls | undefined {
  return nativeSpawn() ? netnsAddressCalls() : undefined;
}

/** The addon's libblkid calls where run() uses the addon (SUBHOST_SPAWN=node: partx and blkid, as without it). */
export function nativeBlkid(): BlkidCalls | undefined {
  return nativeSpawn() ? blkidCalls() : undefined;
}

/** Run argv (never through a shell) and collect its output. Throws CommandError on failure. */
export function run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const started = monotonicMs();
  return new Promise<RunResult>((resolve, reject) => {
    const finish: Finish = (e, code, signal, stdout, stderr) => {
      if (e) return reject(new CommandError(argv, null, null, e.code === 'ENOENT' ? 'command not found' : e.message));
      const result = { code, signal, stdout: stdout.toString(), stderr: stderr.toString() };
      if ((code === 0 && signal === null) || opts.allowFailure) resolve(result);
      else reject(new CommandError(argv, code, signal, result.stderr || (signal === 'SIGKILL' && opts.timeoutMs ? `timed out after ${opts.timeoutMs} ms` : '')));
    };
    const env = childEnv(opts.env, opts.cleanEnv);
    if (spawnPath() === 'native') startNative(spawnCallsChosen!, argv, env, opts, finish);
    else startNode(argv, env, opts, finish);
  }).finally(() => noteSpawn(argv, monotonicMs() - started));
}

/** The fallback: Node forks (copying the page tables of the whole process) and waits for the exec. */
function startNode(argv: readonly string[], env: NodeJS.ProcessEnv, opts: RunOptions, finish: Finish): void {
  const stdio: StdioOptions = ['pipe', 'pipe', 'pipe', ...(opts.extraFds ?? [])];
  const child = childProcess().spawn(argv[0], argv.slice(1), { env, cwd: opts.cwd, stdio, timeout: opts.timeoutMs, killSignal: 'SIGKILL' });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout!.on('data', (b: Buffer) => out.push(b));
  child.stderr!.on('data', (b: Buffer) => err.push(b));
  child.on('error', (e: NodeJS.ErrnoException) => finish(e, null, null, Buffer.alloc(0), Buffer.alloc(0)));
  child.on('close', (code, signal) => finish(null, code, signal, Buffer.concat(out), Buffer.concat(err)));
  child.stdin!.on('error', () => undefined);
  child.stdin!.end(opts.input ?? '');
}

/** SUBHOST_TRACE=1: every external command and step with its duration, on stderr (for profiling). */
export const TRACE = process.env.SUBHOST_TRACE === '1';

export function trace(line: string): void {
  process.stderr.write(`trace ${(performance.now() / 1000).toFixed(3)} ${line}\n`);
}

/** 'call': a system call of the addon's in place of a tool's process (umount2, LOOP_CLR_FD, LOOP_CONFIGURE). */
export type SpawnKind = 'process' | 'call';
type SpawnObserver = (argv: readonly string[], ms: number, kind: SpawnKind) => void;
const observers: SpawnObserver[] = TRACE ? [(argv, ms, kind) => trace(`${ms.toFixed(1)} ms  ${kind === 'call' ? '(system call) ' : ''}${argv.join(' ')}`)] : [];

/** Be told of every external process once it has ended (--timings counts them per step). */
export function observeSpawns(fn: SpawnObserver): void {
  observers.push(fn);
}

/** An external process ended after ms; run() says it itself, the few direct spawn() callers must. */
export function noteSpawn(argv: readonly string[], ms: number): void {
  for (const o of observers) o(argv, ms, 'process');
}

/**
 * A system call in place of argv's tool (noted as noteCall does), failing as the tool would: a
 * CommandError with the tool's exit code and the call's message (or what `message` makes of it).
 */
export async function callAsTool<T>(argv: readonly string[], exitCode: number, call: () => Promise<T>, message = (err: NodeJS.ErrnoException) => err.message): Promise<T> {
  try {
    return await noteCall(argv, call);
  } catch (err) {
    throw new CommandError(argv, exitCode, null, message(err as NodeJS.ErrnoException));
  }
}

/** A system call made in place of a tool's process, named as that tool's work (shown, never counted as a spawn). */
export async function noteCall<T>(argv: readonly string[], call: () => Promise<T>): Promise<T> {
  const started = monotonicMs();
  try {
    return await call();
  } finally {
    for (const o of observers) o(argv, monotonicMs() - started, 'call');
  }
}
