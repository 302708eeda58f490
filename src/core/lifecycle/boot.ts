import { randomUUID } from 'node:crypto';
import { SubhostError } from '../../errors';
import { procRef } from '../../host/proc';
import { loadConfig } from '../config';
import { checkDisksAndNetwork } from '../config/host-checks';
import type { SubhostConfig } from '../config/types';
import { deviceControl } from '../devices';
import type { Lock } from '../lock';
import { checkName } from '../names';
import { buildBootPlan } from '../plan/boot-plan';
import { readCgroupLayout } from '../cgroup-limits';
import { executePlan } from '../plan/executor';
import type { Plan } from '../plan/types';
import type { Runtime } from '../runtime';
import { removeRuntimeDir, writeState, type StateRecord } from '../state';
import type { SubhostContext } from '../steps/context';
import { SUBHOST_HANDLERS } from '../steps/handlers';
import type { StartInitResult } from '../steps/init';
import { known, otherActive } from './active';
import { lockHost, lockSubhost } from './lock';
import { crashPoint, pausePoint } from '../test-hooks';

export interface BootOptions {
  configFile?: string;
  dryRun?: boolean;
  /** Seconds subhost-init waits between SIGTERM and SIGKILL at power off. */
  graceSeconds?: number;
  /** Held already (a reboot from `_reap`). */
  lock?: Lock;
}

export type BootOutcome = { dryRun: true; plan: Plan; config: SubhostConfig } | { dryRun: false; record: StateRecord };

/** Refuse to start over anything that is already there. */
export function refuseIfActive(rt: Runtime, name: string): void {
  const k = known(rt, name);
  if (k.derived.busy && k.derived.busy !== 'release') throw new SubhostError(`subhost ${name} is busy: \`subhost ${k.derived.busy}\` is in progress`);
  if (k.derived.state === 'stopped') {
    if (k.record) removeRuntimeDir(rt.paths, name);
    return;
  }
  const from = k.record && k.record.root !== rt.paths.root ? ` (from ${k.record.root})` : '';
  if (k.derived.state === 'failed') throw new SubhostError(`subhost ${name} is failed${from}: ${k.derived.reason}`);
  throw new SubhostError(`subhost ${name} is already ${k.derived.state}${from}`);
}

async function bootConfig(rt: Runtime, name: string, opts: BootOptions): Promise<SubhostConfig> {
  const config = await loadConfig(rt.paths, name, { configFile: opts.configFile, env: rt.env });
  if (config.disks.length === 0) throw new SubhostError(`subhost ${name}: DISKS is not set${config.file ? ` in ${config.file}` : ''}, so there is no disk image to boot`);
  return config;
}

/** Check the config against the host and the other subhosts (read-only), and plan. */
function planBoot(rt: Runtime, config: SubhostConfig, opts: BootOptions, bootId: string): Plan {
  const tables = checkDisksAndNetwork(config, otherActive(rt, config.name));
  return buildBootPlan(config, { paths: rt.paths, tables, bootId, graceSeconds: opts.graceSeconds ?? 10, deviceControl: deviceControl(), cgroupLayout: readCgroupLayout(rt.cgroupMount) });
}

export async function bootPlan(rt: Runtime, name: string, opts: BootOptions, bootId: string): Promise<{ plan: Plan; config: SubhostConfig }> {
  const config = await bootConfig(rt, name, opts);
  return { plan: planBoot(rt, config, opts, bootId), config };
}

/** `subhost boot NAME`: plan, then apply with a revert stack; returns once PID 1 runs. */
export async function boot(rt: Runtime, name: string, opts: BootOptions = {}): Promise<BootOutcome> {
  checkName(name);
  const bootId = randomUUID();
  if (opts.dryRun) {
    const { plan, config } = await bootPlan(rt, name, opts, bootId);
    return { dryRun: true, plan, config };
  }
  const lock = opts.lock ?? (await lockSubhost(rt, name, 'boot'));
  try {
    refuseIfActive(rt, name);
    const config = await bootConfig(rt, name, opts);
    // The record names our images and MACs: once it is written, the next boot's checks see them.
    const hostLock = await lockHost(rt, `boot ${name}`);
    let plan: Plan;
    let record: StateRecord;
    try {
      plan = planBoot(rt, config, opts, bootId);
      await pausePoint(rt.env, 'boot:checked');
      record = {
        version: 1,
        name,
        root: rt.paths.root,
        bootId,
        mode: 'boot',
        phase: 'starting',
        op: { cmd: 'boot', ...procRef(process.pid)! },
        createdAt: new Date().toISOString(),
        config,
        applied: [],
        warnings: [],
      };
      writeState(rt.paths, record);
    } finally {
      hostLock.release();
    }
    const ctx: SubhostContext = { results: new Map(), paths: rt.paths, name, cgroupMount: rt.cgroupMount, warnings: [] };
    try {
      record.applied = await executePlan(plan, SUBHOST_HANDLERS, ctx, {
        record: (applied) => {
          record.applied = applied;
          writeState(rt.paths, record);
        },
        beforeStep: (step, index) => {
          killAtStep(rt.env, index);
          crashPoint(rt.env, `boot:before:${step.id}`);
        },
        afterStep: (step) => crashPoint(rt.env, `boot:after:${step.id}`),
      });
    } catch (err) {
      const e = err as SubhostError;
      // Reverted cleanly: nothing is left, so neither is the record. Otherwise stop must finish it.
      if (e.details?.some((d) => d.startsWith('while reverting'))) {
        delete record.op;
        writeState(rt.paths, record);
      } else removeRuntimeDir(rt.paths, name);
      throw err;
    }
    const started = ctx.results.get('start-init') as StartInitResult;
    record.pid1 = started.pid1;
    record.supervisor = started.supervisor;
    record.phase = 'running';
    record.warnings = ctx.warnings;
    delete record.op;
    writeState(rt.paths, record);
    return { dryRun: false, record };
  } finally {
    if (!opts.lock) lock.release();
  }
}

/** Test-only: SUBHOST_TEST_KILL_AT_STEP=N makes boot SIGKILL itself before step N (1-based). */
function killAtStep(env: NodeJS.ProcessEnv, index: number): void {
  if (Number(env.SUBHOST_TEST_KILL_AT_STEP) === index + 1) process.kill(process.pid, 'SIGKILL');
}
