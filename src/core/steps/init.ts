import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, realpathSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { SubhostError } from '../../errors';
import type { Cgroup } from '../../host/cgroupfs';
import { BASE_PATH } from '../../host/exec';
import { netnsPath } from '../../host/netns';
import { isAlive, nsPids, procRef, signalProc, type ProcRef } from '../../host/proc';
import { writeFileAtomic } from '../atomic-file';
import { boundingSetArg } from '../capabilities';
import { resolveInRoot } from '../guest-path';
import { protectionEnv } from '../hardening';
import { CgroupSet } from '../subhost-cgroups';
import { CGROUP_MONITOR } from '../paths';
import type { StepHandler } from '../plan/executor';
import { shareDir, supervisorShell } from '../share';
import { resultOf, type SubhostContext } from './context';
import type { PartitionResult } from './disks';

export const INIT_PATH = '/sbin/subhost-init';
export const LOG_MAX_BYTES = 256 * 1024;

export interface InstallInitParams {
  live: string;
}

/** Copy subhost-init into the guest, resolving the path inside the guest root (never the host's). */
export const installInit: StepHandler<InstallInitParams, { path: string }, SubhostContext> = {
  async apply(p) {
    const target = resolveInRoot(p.live, INIT_PATH);
    const content = readFileSync(join(shareDir(), 'subhost-init'), 'utf8');
    let current: string | undefined;
    try {
      current = readFileSync(target, 'utf8');
    } catch {
      /* not installed yet */
    }
    if (current !== content) {
      mkdirSync(dirname(target), { recursive: true, mode: 0o755 });
      writeFileAtomic(target, content, 0o755);
    }
    removeStaleTemps(target);
    return { path: target };
  },
};

/** A boot killed while writing subhost-init leaves its temp file in the guest: remove it. */
function removeStaleTemps(target: string): void {
  const prefix = `${basename(target)}.tmp-`;
  try {
    for (const f of readdirSync(dirname(target))) if (f.startsWith(prefix)) rmSync(join(dirname(target), f), { force: true });
  } catch {
    /* nothing to tidy */
  }
}

/** What PID 1 is started in, for subhost-init (boot) and for the shell (start) alike. */
export interface Pid1Params {
  live: string;
  netns: string;
  /** Relative to the cgroup2 mount. */
  cgroup: string;
  hostname: string;
  devices: { node: string; from: string }[];
  tun: boolean;
}

export interface StartInitParams extends Pid1Params {
  graceSeconds: number;
  bootId: string;
}

/** How PID 1's session is made: see SUBHOST_SESSION in share/pid1-stage.sh. */
export type Pid1Session = '' | 'new' | 'tty';

/** The environment of share/pid1-stage.sh (its header lists it); initEnv adds to PID 1's own. */
export function pid1StageEnv(p: Pid1Params, ctx: SubhostContext, initEnv: string[], session: Pid1Session): Record<string, string> {
  const devices = p.devices.map((d) => {
    const r = resultOf<PartitionResult>(ctx, d.from);
    return `${d.node}:${r.major}:${r.minor}`;
  });
  const env = ['container=subhost', `SUBHOST_INIT_HOSTNAME=${p.hostname}`, `SUBHOST_INIT_DEVICES=${devices.join(',')}`, `SUBHOST_INIT_TUN=${p.tun ? 'yes' : 'no'}`, ...protectionEnv(), ...initEnv];
  return {
    SUBHOST_STAGE_SHELL: supervisorShell(),
    SUBHOST_STAGE: join(shareDir(), 'pid1-stage.sh'),
    SUBHOST_CGROUP_PROCS: CgroupSet.at(ctx.cgroupMount, p.cgroup).procsFiles().join(' '),
    SUBHOST_NETNS: netnsPath(p.netns),
    SUBHOST_LIVE: p.live,
    SUBHOST_BOUNDING: boundingSetArg(),
    SUBHOST_INIT_ENV: env.join(' '),
    SUBHOST_SESSION: session,
  };
}

export interface StartInitResult {
  supervisor: ProcRef;
  pid1: ProcRef;
}


/** Start a fresh console log; the previous boot's stays as NAME.log.1. */
export function rotateLog(log: string): number {
  mkdirSync(dirname(log), { recursive: true, mode: 0o750 });
  try {
    renameSync(log, `${log}.1`);
  } catch {
    /* first boot */
  }
  return openSync(log, 'a', 0o640);
}

export function tailOf(file: string, lines: number): string[] {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines);
  } catch {
    return [];
  }
}

/** The host PID of the process that is PID 1 in its own namespace, among the processes of the cgroup and its leaf. */
export function findPid1(cg: Cgroup): ProcRef | undefined {
  for (const pid of cg.allProcs()) {
    const ns = nsPids(pid);
    if (ns.length >= 2 && ns[ns.length - 1] === 1) return procRef(pid);
  }
  return undefined;
}

/** Resolve with what the readiness pipe said: "ready", or why it never came. keepOpen: a ready pipe stays open. */
export function waitReady(pipe: Readable, timeoutMs: number, keepOpen = false): Promise<'ready' | 'eof' | 'timeout'> {
  return new Promise((resolve) => {
    let text = '';
    const done = (r: 'ready' | 'eof' | 'timeout') => {
      clearTimeout(timer);
      pipe.removeAllListeners();
      if (keepOpen && r === 'ready') {
        pipe.pause();
        pipe.on('error', () => undefined);
      } else pipe.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done('timeout'), timeoutMs);
    pipe.on('data', (b: Buffer) => {
      text += b.toString();
      if (text.includes('ready\n')) done('ready');
    });
    pipe.on('end', () => done('eof'));
    pipe.on('error', () => done('eof'));
  });
}

export const READY_TIMEOUT_MS = 30_000;

/** Why PID 1 never said "ready" (the readiness pipe's outcome, or the spawn's own error). */
export function notReadyReason(outcome: 'ready' | 'eof' | 'timeout', spawnError?: string): string {
  if (spawnError) return spawnError;
  if (outcome === 'timeout') return `not ready after ${READY_TIMEOUT_MS / 1000} s`;
  return outcome === 'ready' ? 'ready, but gone at once' : 'it ended before it was ready';
}

export const startInit: StepHandler<StartInitParams, StartInitResult, SubhostContext> = {
  async apply(p, ctx) {
    const monitor = CgroupSet.at(ctx.cgroupMount, CGROUP_MONITOR);
    monitor.create();
    const cgroups = CgroupSet.at(ctx.cgroupMount, p.cgroup);
    const log = ctx.paths.consoleLog(ctx.name);
    const logFd = rotateLog(log);
    const fifo = ctx.paths.consoleFifo(ctx.name);
    rmSync(fifo, { force: true });
    const child = spawn(supervisorShell(), [join(shareDir(), 'supervisor.sh')], {
      detached: true,
      stdio: ['ignore', logFd, logFd, 'pipe'],
      env: {
        PATH: BASE_PATH,
        LC_ALL: 'C',
        SUBHOST_NAME: ctx.name,
        SUBHOST_BOOT_ID: p.bootId,
        ...pid1StageEnv(p, ctx, ['HOME=/', 'TERM=linux', `SUBHOST_INIT_GRACE=${p.graceSeconds}`], ''),
        SUBHOST_MONITOR_PROCS: monitor.procsFiles().join(' '),
        SUBHOST_FIFO: fifo,
        SUBHOST_LOG: log,
        SUBHOST_LOG_MAX: String(LOG_MAX_BYTES),
        SUBHOST_NODE: process.execPath,
        SUBHOST_CLI: realpathSync(process.argv[1]),
        SUBHOST_ROOT: ctx.paths.root,
        SUBHOST_RUN: ctx.paths.run,
      },
    });
    closeSync(logFd);
    let spawnError: string | undefined;
    child.once('error', (e) => (spawnError = e.message));
    const supervisor = child.pid === undefined ? undefined : procRef(child.pid);
    child.unref();
    const outcome = await waitReady(child.stdio[3] as Readable, READY_TIMEOUT_MS);
    const pid1 = outcome === 'ready' ? findPid1(cgroups.v2) : undefined;
    if (!supervisor || !pid1) {
      if (supervisor) signalProc(supervisor, 'SIGKILL');
      const last = tailOf(log, 3).join(' | ');
      throw new SubhostError(`PID 1 did not start: ${notReadyReason(outcome, spawnError)}${last ? `; console: ${last}` : ''}`);
    }
    return { supervisor, pid1 };
  },
  async undo(_p, r) {
    // `_reap` is the supervisor itself (exec'd in its place) when it releases after a power off.
    if (r && r.supervisor.pid !== process.pid && isAlive(r.supervisor)) signalProc(r.supervisor, 'SIGKILL');
  },
};
