import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic-file';
import { acquireLock, type Lock } from '../core/lock';
import type { Paths } from '../core/paths';
import { SubhostError } from '../errors';
import { procRef } from '../host/proc';

/** Not a subhost name (those have no '.'), so never a subhost's lock or runtime folder. */
export const daemonLockFile = (paths: Paths) => join(paths.run, 'daemon.lock');
export const daemonStateFile = (paths: Paths) => join(paths.run, 'daemon.json');

export interface DaemonState {
  pid: number;
  /** Field 22 of /proc/PID/stat: tells a reused PID from the daemon. */
  start: number;
  listen: string;
  db: string;
  startedAt: string;
}

/** The one-per-host lock: held (flock) while the daemon runs, gone with it however it ends. */
export async function lockDaemon(paths: Paths): Promise<Lock> {
  try {
    return await acquireLock(daemonLockFile(paths), { waitSeconds: 0, subject: 'the daemon', holder: 'daemon' });
  } catch (err) {
    let holder = '';
    try {
      holder = /\(pid (\d+)\)/.exec(readFileSync(daemonLockFile(paths), 'utf8'))?.[1] ?? '';
    } catch {
      /* unreadable: say less */
    }
    if (/is busy/.test((err as Error).message)) throw new SubhostError(`daemon: another daemon is running on this host${holder ? ` (pid ${holder})` : ''}`);
    throw err;
  }
}

/** SUBHOST_RUN/daemon.json: where the running daemon listens and writes (temp + rename). */
export function writeDaemonState(paths: Paths, s: Omit<DaemonState, 'pid' | 'start'>): void {
  const ref = procRef(process.pid)!;
  writeFileAtomic(daemonStateFile(paths), JSON.stringify({ pid: ref.pid, start: ref.start, ...s }, null, 1) + '\n', 0o644, false);
}

export function removeDaemonState(paths: Paths): void {
  rmSync(daemonStateFile(paths), { force: true });
}
