import type { ChildProcess } from 'node:child_process';
import { isatty } from 'node:tty';
import { SubhostError } from '../../errors';
import { exitStatus, procRef } from '../../host/proc';
import type { SubhostConfig } from '../config/types';
import type { Layout } from '../storage/layout';
import { checkName } from '../config/names';
import type { PartitionTable } from '../storage/partition-table';
import { buildResumePlan, buildStartPlan, type ShellFacts } from '../plan/boot-plan';
import type { SubhostPlan } from '../plan/subhost-steps';
import type { Runtime } from '../state/runtime';
import { newBootId, writeState, type StateRecord } from '../state/records';
import type { SubhostContext } from '../steps/context';
import type { StartShellResult } from '../steps/shell';
import type { ShellTerminal } from '../guest/pid1-env';
import { known, type Known } from '../state/active';
import { applyRecorded } from './apply';
import { deviceControl } from '../cgroups/devices';
import { readCgroupLayout } from '../cgroups/limits';
import { forceOffsetLoops } from '../steps/disks';
import { checkAndRecord, checkedConfig, layoutConfig, refuseIfActive } from './boot';
import { hibernate, type HibernateOutcome } from './hibernate';
import { lockSubhost } from '../state/lock';
import { subhostCgroupSet } from '../cgroups/subhost-cgroups';

export interface StartOptions {
  configFile?: string;
  dryRun?: boolean;
  /** Default: tty when stdin is a terminal. */
  terminal?: ShellTerminal;
  /** Called once the shell runs, before start waits for it. */
  onRunning?: (record: StateRecord, resumed: boolean) => void;
}

export type StartOutcome =
  | { dryRun: true; plan: SubhostPlan }
  | {
      dryRun: false;
      resumed: boolean;
      /** The shell's exit status (128 + signal when killed). */
      status: number;
      after: HibernateOutcome;
    };

/** TERM for the guest: the caller's, when it is a plain terminal name. */
export function guestTerm(term: string | undefined): string {
  return term && /^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/.test(term) ? term : 'dumb';
}

function refuseToStart(rt: Runtime, name: string, k: Known): void {
  if (k.derived.state === 'running' && !k.derived.busy) {
    if (k.record?.mode === 'boot') throw new SubhostError(`subhost ${name} is running under \`subhost boot\` (subhost-init is its PID 1): \`subhost enter ${name}\` opens a shell in it`);
    throw new SubhostError(`subhost ${name} is already running: its shell is PID 1 (pid ${k.record?.pid1?.pid}), on the terminal of \`subhost start\`${k.record?.attached ? ` (pid ${k.record.attached.pid})` : ''}`);
  }
  refuseIfActive(rt, name);
}

function resumable(k: Known): k is Known & { record: StateRecord } {
  return k.record !== undefined && k.derived.state === 'hibernated' && !k.derived.busy;
}

/** The plan `start` would apply now (--dry-run): a resume for a hibernated subhost, else the whole start. */
async function planStart(rt: Runtime, name: string, opts: StartOptions, shell: ShellFacts): Promise<{ plan: SubhostPlan; k: Known }> {
  const k = known(rt, name);
  if (resumable(k)) return { plan: buildResumePlan(k.record, shell, rt.paths), k };
  refuseToStart(rt, name, k);
  const { config, layout, tables } = await checkedConfig(rt, name, opts.configFile);
  return { plan: startPlan(rt, { config, layout }, tables, shell), k };
}

function startPlan(rt: Runtime, { config, layout }: { config: SubhostConfig; layout: Layout }, tables: Map<string, PartitionTable>, shell: ShellFacts): SubhostPlan {
  return buildStartPlan(config, { paths: rt.paths, tables, layout, deviceControl: deviceControl(undefined, rt.env), cgroupLayout: readCgroupLayout(rt.cgroupMount), offsetLoops: forceOffsetLoops(rt.env), ...shell });
}

/**
 * `subhost start NAME`: the environment of boot, but PID 1 is a shell on the caller's terminal
 * (or reading its stdin). Returns when the shell has ended and the subhost is hibernated:
 * no processes, mounts and network kept. On a hibernated subhost only PID 1 starts again.
 */
export async function start(rt: Runtime, name: string, opts: StartOptions = {}): Promise<StartOutcome> {
  checkName(name);
  const shell: ShellFacts = { terminal: opts.terminal ?? (isatty(0) ? 'tty' : 'pipe'), term: guestTerm(rt.env.TERM) };
  if (opts.dryRun) return { dryRun: true, plan: (await planStart(rt, name, opts, shell)).plan };
  const bootId = newBootId();
  const me = procRef(process.pid)!;
  const ctx: SubhostContext = { results: new Map(), paths: rt.paths, name, cgroupMount: rt.cgroupMount, warnings: [] };
  const lock = await lockSubhost(rt, name, 'start');
  let resumed: boolean;
  try {
    const k = known(rt, name);
    let plan: SubhostPlan;
    let record: StateRecord;
    if (resumable(k)) {
      // A resume keeps phase hibernated until the shell runs: if it is interrupted, it is failed.
      resumed = true;
      record = k.record;
      plan = buildResumePlan(record, shell, rt.paths);
      for (const a of record.applied) ctx.results.set(a.id, a.result);
      record.bootId = bootId;
      record.op = { cmd: 'start', ...me };
      writeState(rt.paths, record);
    } else {
      resumed = false;
      refuseToStart(rt, name, k);
      const configured = await layoutConfig(rt, name, opts.configFile);
      ({ plan, record } = await checkAndRecord(rt, name, 'start', bootId, configured, (tables) => startPlan(rt, configured, tables, shell)));
    }
    await applyRecorded(rt, record, plan, ctx);
    record.pid1 = (ctx.results.get('start-shell') as StartShellResult).pid1;
    record.attached = me;
    record.phase = 'running';
    if (!resumed) record.warnings = ctx.warnings;
    delete record.op;
    writeState(rt.paths, record);
    opts.onRunning?.(record, resumed);
  } finally {
    lock.release();
  }
  const { child, go } = ctx.foreground!;
  go();
  const status = await waitForShell(child, () => subhostCgroupSet(rt.cgroupMount, name).v2.kill());
  return { dryRun: false, resumed, status, after: await hibernate(rt, name, bootId) };
}

/**
 * Wait for the shell's end. The terminal's keyboard signals are for the shell; SIGHUP (the
 * terminal went away) and SIGTERM end the shell, and the subhost is hibernated as usual.
 */
function waitForShell(child: ChildProcess, endShell: () => void): Promise<number> {
  const ignore = () => undefined;
  const end = () => endShell();
  const keyboard = ['SIGINT', 'SIGQUIT', 'SIGTSTP'] as const;
  const ending = ['SIGHUP', 'SIGTERM'] as const;
  for (const s of keyboard) process.on(s, ignore);
  for (const s of ending) process.on(s, end);
  return new Promise<number>((resolve) => {
    const done = (code: number | null, signal: NodeJS.Signals | null) => {
      for (const s of keyboard) process.off(s, ignore);
      for (const s of ending) process.off(s, end);
      resolve(exitStatus(code, signal));
    };
    if (child.exitCode !== null || child.signalCode !== null) done(child.exitCode, child.signalCode);
    else child.once('exit', done);
  });
}
