import { randomUUID } from 'node:crypto';
import { SubhostError } from '../../errors';
import { procRef } from '../../host/proc';
import { loadConfig } from '../config';
import { checkDisksAndNetwork } from '../config/host-checks';
import type { SubhostConfig } from '../config/types';
import { checkLayout, detectLayout, type Layout } from '../layout';
import type { PartitionTable } from '../partition-table';
import type { Lock } from '../lock';
import { checkName } from '../names';
import { buildBootPlan } from '../plan/boot-plan';
import type { Plan } from '../plan/types';
import type { Runtime } from '../runtime';
import { removeRuntimeDir, writeState, type StateRecord } from '../state';
import type { SubhostContext } from '../steps/context';
import type { StartInitResult } from '../steps/init';
import { known, otherActive } from './active';
import { applyRecorded } from './apply';
import { lockSubhost } from './lock';

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
  if (k.derived.state === 'hibernated') throw new SubhostError(`subhost ${name} is hibernated${from}: \`subhost start ${name}\` resumes it, \`subhost stop ${name}\` releases it`);
  throw new SubhostError(`subhost ${name} is already ${k.derived.state}${from}`);
}

/** The config, its layout and everything checkable before the host is touched (boot and start). */
export async function checkedConfig(rt: Runtime, name: string, configFile?: string): Promise<{ config: SubhostConfig; layout: Layout; tables: Map<string, PartitionTable> }> {
  const config = await loadConfig(rt.paths, name, { configFile, env: rt.env });
  const layout = detectLayout(config, rt.paths);
  checkLayout(config, layout);
  const tables = checkDisksAndNetwork(config, otherActive(rt, name));
  return { config, layout, tables };
}

export async function bootPlan(rt: Runtime, name: string, opts: BootOptions, bootId: string): Promise<{ plan: Plan; config: SubhostConfig; layout: Layout }> {
  const { config, layout, tables } = await checkedConfig(rt, name, opts.configFile);
  const plan = buildBootPlan(config, { paths: rt.paths, tables, layout, bootId, graceSeconds: opts.graceSeconds ?? 10 });
  return { plan, config, layout };
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
    const { plan, config, layout } = await bootPlan(rt, name, opts, bootId);
    const me = procRef(process.pid)!;
    const record: StateRecord = {
      version: 1,
      name,
      root: rt.paths.root,
      bootId,
      mode: 'boot',
      phase: 'starting',
      op: { cmd: 'boot', ...me },
      createdAt: new Date().toISOString(),
      config,
      layout,
      applied: [],
      warnings: [],
    };
    writeState(rt.paths, record);
    const ctx: SubhostContext = { results: new Map(), paths: rt.paths, name, cgroupMount: rt.cgroupMount, warnings: [] };
    await applyRecorded(rt, record, plan, ctx);
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
