import { closeSync, mkdirSync, openSync, readFileSync, ftruncateSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { SubhostError } from '../errors';
import { run } from './exec';

/**
 * An flock(2) on SUBHOST_RUN/.locks/NAME. flock(1) takes the lock on our open file description
 * and exits; the lock stays ours until this process closes the fd or dies, so a crashed holder
 * can never wedge it.
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

export async function acquireLock(path: string, opts: { waitSeconds: number; subject: string; holder: string }): Promise<Lock> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const fd = openSync(path, 'a+', 0o600);
  const argv = ['flock', '--exclusive', ...(opts.waitSeconds > 0 ? ['--wait', String(opts.waitSeconds)] : ['--nonblock']), '3'];
  const r = await run(argv, { extraFds: [fd], allowFailure: true });
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
  ftruncateSync(fd, 0);
  writeSync(fd, `\`subhost ${opts.holder}\` (pid ${process.pid})\n`, 0);
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
    const r = await run(['flock', '--shared', '--nonblock', '3'], { extraFds: [fd], allowFailure: true });
    return r.code === 1;
  } finally {
    closeSync(fd);
  }
}
