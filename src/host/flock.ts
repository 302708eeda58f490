import { closeSync, constants, fstatSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { SubhostError } from '../errors';
import { run } from './exec';
import { hostCalls } from './bpf-addon';
import { monotonicMs } from './clock';

/**
 * An flock(2) on SUBHOST_RUN/.locks/NAME, taken on our open file description (by the native
 * addon, else by flock(1), which exits holding nothing); the lock stays ours until this process
 * closes the fd or dies, so a crashed holder can never wedge it.
 */
export class Lock {
  constructor(
    readonly path: string,
    private fd: number | undefined,
  ) {}

  get held(): boolean {
    return this.fd !== undefined;
  }

  release(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The longest pause between two tries of a held lock: how late a waiter may notice its release. */
const POLL_MAX_MS = 10;

/** Take the lock on fd within waitSeconds (0: only if free now), as flock(1) would exit: 0 taken, 1 busy. */
async function flockFd(fd: number, exclusive: boolean, waitSeconds: number): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  const calls = hostCalls();
  if (!calls) {
    const argv = ['flock', exclusive ? '--exclusive' : '--shared', ...(waitSeconds > 0 ? ['--wait', String(waitSeconds)] : ['--nonblock']), '3'];
    return run(argv, { extraFds: [fd], allowFailure: true });
  }
  // Never a blocking flock(2): it would stop the event loop (and the config read beside it).
  const deadline = monotonicMs() + waitSeconds * 1000;
  for (let delay = 1; ; delay = Math.min(delay * 2, POLL_MAX_MS)) {
    try {
      if (calls.tryFlock(fd, exclusive)) return { code: 0, signal: null, stderr: '' };
    } catch (err) {
      return { code: 64, signal: null, stderr: (err as Error).message };
    }
    if (monotonicMs() >= deadline) return { code: 1, signal: null, stderr: '' };
    await sleep(delay);
  }
}

export async function acquireLock(path: string, opts: { waitSeconds: number; subject: string; holder: string }): Promise<Lock> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const fd = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o600);
  const r = await flockFd(fd, true, opts.waitSeconds);
  if (r.code !== 0) {
    let holder = '';
    try {
      holder = readFileSync(path, 'utf8').trim();
    } catch {
      /* unreadable: say less */
    }
    closeSync(fd);
    if (r.code === 1) throw new SubhostError(`${opts.subject} is busy: ${holder || 'another subhost command'} is working on it`);
    throw new SubhostError(`locking ${opts.subject}: ${r.stderr.trim() || `flock exited with status ${r.code}`}`);
  }
  // Written over the last holder's line, padded to its length: truncating a file ext4 has written
  // out frees its block (0.4 ms on the development VM); a reader trims the spaces.
  const line = `\`subhost ${opts.holder}\` (pid ${process.pid})`;
  writeSync(fd, `${line.padEnd(fstatSync(fd).size - 1)}\n`, 0);
  return new Lock(path, fd);
}

/** True while a process holds the lock: a command is working on the subhost right now. */
export async function isLocked(path: string): Promise<boolean> {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return false;
  }
  try {
    return (await flockFd(fd, false, 0)).code === 1;
  } finally {
    closeSync(fd);
  }
}
