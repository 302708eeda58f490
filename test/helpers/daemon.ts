import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnCli } from './cli';
import { PREFIX, waitFor } from './env';

/** A `subhost daemon` started by a test: its own run folder, database and root; VMs of this prefix only. */
export interface TestDaemon {
  child: ChildProcess;
  pid: number;
  /** 127.0.0.1:PORT */
  listen: string;
  stderr: () => string;
  get: (path: string) => Promise<{ status: number; type: string; body: string }>;
  /** Signal it and wait for its exit. */
  stop: (signal?: NodeJS.Signals) => Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface DaemonEnv {
  root: string;
  run: string;
  db: string;
  interval?: number;
  env?: Record<string, string>;
  /** More options for `subhost daemon` (--hostname …). */
  args?: string[];
}

export function daemonEnv(d: Pick<DaemonEnv, 'root' | 'run'>): Record<string, string> {
  // The prefix keeps the daemon from moving other test runs' VMs (they share this host).
  return { SUBHOST_ROOT: d.root, SUBHOST_RUN: d.run, SUBHOST_DAEMON_VM_PREFIX: PREFIX };
}

export async function startDaemon(d: DaemonEnv): Promise<TestDaemon> {
  const args = ['daemon', '--listen', '127.0.0.1:0', '--db', d.db, '--interval', String(d.interval ?? 1), ...(d.args ?? [])];
  const child = spawnCli(args, { env: { ...daemonEnv(d), ...d.env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (b) => (err += b));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  let ended = false;
  void exited.then(() => (ended = true));
  const state = await waitFor(
    'the daemon to listen',
    () => {
      if (ended) throw new Error(`the daemon ended: ${err}`);
      try {
        const s = JSON.parse(readFileSync(join(d.run, 'daemon.json'), 'utf8'));
        return s.pid === child.pid ? s : undefined;
      } catch {
        return undefined;
      }
    },
    20_000,
  );
  const get = async (path: string) => {
    const r = await fetch(`http://${state.listen}${path}`);
    return { status: r.status, type: r.headers.get('content-type') ?? '', body: await r.text() };
  };
  return {
    child,
    pid: child.pid!,
    listen: state.listen,
    stderr: () => err,
    get,
    exited,
    stop: (signal = 'SIGTERM') => {
      if (!ended) child.kill(signal);
      return exited;
    },
  };
}
