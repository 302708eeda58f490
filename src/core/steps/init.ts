import { closeSync, realpathSync, rmSync } from 'node:fs';
import { SubhostError } from '../../errors';
import { nativeProgram } from '../../host/bpf-addon';
import { BASE_PATH, noteSpawn } from '../../host/exec';
import { makeFifo, spawnSession } from '../../host/spawn-session';
import { isAlive, procRef, readCmdline, type ProcRef } from '../../host/proc';
import { CgroupSet, monitorCgroupSet, subhostCgroupSet } from '../cgroups/subhost-cgroups';
import { LOG_MAX_BYTES, rotateLog, tailOf } from '../guest/console-log';
import { findPid1, notReadyReason, READY_TIMEOUT_MS, waitReady } from '../guest/pid1';
import { pid1StageEnv, type Pid1Params } from '../guest/pid1-env';
import type { StepHandler } from '../plan/executor';
import { killProcs, removeMonitor } from '../lifecycle/supervisors';
import { resultOf, type SubhostContext } from './context';
import type { PartitionResult } from './disks';
import { monotonicMs } from '../../host/clock';

declare module '../plan/subhost-steps' {
  interface SubhostStepKinds {
    'start-init': StartInitParams;
  }
}

export interface StartInitParams extends Pid1Params {
  graceSeconds: number;
  bootId: string;
}

export interface StartInitResult {
  supervisor: ProcRef;
  pid1: ProcRef;
}


/** How long a failed start waits for the console of a PID 1 that ended to reach the log. */
const COPIED_WAIT_MS = 2000;

/**
 * The supervisor's copier (in blocks) writes the last of the console once PID 1's output
 * ends, and the supervisor then turns into `_reap`: until then the log may lack why PID 1 ended.
 */
async function consoleCopied(supervisor: ProcRef, ms: number): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 20))) {
    if (!isAlive(supervisor) || readCmdline(supervisor.pid).includes('_reap')) return;
  }
}

export const startInit: StepHandler<StartInitParams, StartInitResult, SubhostContext> = {
  async apply(p, ctx) {
    const monitor = monitorCgroupSet(ctx.cgroupMount, ctx.name);
    monitor.create();
    const cgroups = CgroupSet.at(ctx.cgroupMount, p.cgroup);
    const log = ctx.paths.consoleLog(ctx.name);
    const logFd = rotateLog(log);
    const fifo = ctx.paths.consoleFifo(ctx.name);
    rmSync(fifo, { force: true });
    try {
      await makeFifo(fifo, 0o600);
    } catch (err) {
      closeSync(logFd);
      throw new SubhostError(`cannot make the console FIFO ${fifo}: ${(err as Error).message}`);
    }
    const started = monotonicMs();
    const supervisorFile = nativeProgram('supervisor');
    const child = spawnSession([supervisorFile], {
      PATH: BASE_PATH,
      LC_ALL: 'C',
      SUBHOST_NAME: ctx.name,
      SUBHOST_BOOT_ID: p.bootId,
      ...pid1StageEnv(p, ctx.cgroupMount, (id) => resultOf<PartitionResult>(ctx, id), ['HOME=/', 'TERM=linux', `SUBHOST_INIT_GRACE=${p.graceSeconds}`], ''),
      SUBHOST_MONITOR_PROCS: monitor.procsFiles().join(' '),
      SUBHOST_FIFO: fifo,
      SUBHOST_LOG: log,
      SUBHOST_LOG_MAX: String(LOG_MAX_BYTES),
      SUBHOST_NODE: process.execPath,
      SUBHOST_CLI: realpathSync(process.argv[1]),
      SUBHOST_ROOT: ctx.paths.root,
      SUBHOST_RUN: ctx.paths.run,
    }, logFd);
    closeSync(logFd);
    const supervisor = child.pid === undefined ? undefined : procRef(child.pid);
    const outcome = await waitReady(child.fd3, READY_TIMEOUT_MS);
    // The supervisor lives on; what is counted is its way to PID 1's "ready" (unshare, pivot-exec, the guest's sh and its mounts).
    noteSpawn([supervisorFile, `(until ${outcome})`], monotonicMs() - started);
    const pid1 = outcome === 'ready' ? findPid1(cgroups.v2) : undefined;
    if (!supervisor || !pid1) {
      if (supervisor && outcome === 'eof') await consoleCopied(supervisor, COPIED_WAIT_MS);
      if (supervisor) await killProcs([supervisor]);
      const last = tailOf(log, 3).join(' | ');
      throw new SubhostError(`PID 1 did not start: ${notReadyReason(outcome, child.error)}${last ? `; console: ${last}` : ''}`);
    }
    return { supervisor, pid1 };
  },
  async undo(_p, r, ctx) {
    // `_reap` is the supervisor itself (exec'd in its place) when it releases after a power off.
    // Gone before its cgroup is removed: it joins subhost.monitor/NAME beside PID 1's start, and a
    // migration it began ends (into that cgroup) before a SIGKILL does.
    if (r && r.supervisor.pid !== process.pid && isAlive(r.supervisor)) await killProcs([r.supervisor]);
    // A revert (a later step, or this one's record, failed): PID 1 and its processes still run and
    // hold the guest's mounts, so they go now, as stop kills them before its undos (then PID 1 is gone).
    if (r && isAlive(r.pid1)) await subhostCgroupSet(ctx.cgroupMount, ctx.name).killAll();
    // Also after a failed start (no result): the killed supervisor's copier may still be in it.
    await removeMonitor(ctx.cgroupMount, ctx.name);
  },
};
