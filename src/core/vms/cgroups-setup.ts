import { hostname } from 'node:os';
import { findV1Hierarchies } from '../../host/cgroup-v1';
import { Cgroup } from '../../host/cgroupfs';
import type { ParentOutcome } from '../cgroups/parents';
import { executePlan } from '../plan/executor';
import type { Plan } from '../plan/types';
import type { Runtime } from '../state/runtime';
import { buildSetupPlan, type MoveVmParams, type VmDecision } from './setup-plan';
import { SETUP_HANDLERS, type MoveVmResult, type SetupContext } from './setup-steps';
import { findVmProcesses } from './vm-process';

export interface VmOutcome {
  pid: number;
  exe: string;
  name?: string;
  /** vm/NAME, where it is now (moved, in place). */
  cgroup?: string;
  action: 'moved' | 'in place' | 'skipped' | 'exited';
  reason?: string;
}

export interface SetupReport {
  host: string;
  cgroup2: string;
  /** v1 hierarchies (hybrid hosts): mount point and controllers. */
  v1: { mountPoint: string; controllers: string[] }[];
  parents: ParentOutcome[];
  vms: VmOutcome[];
}

export type SetupOutcome = { dryRun: true; plan: Plan; vms: VmDecision[] } | { dryRun: false; report: SetupReport };

/**
 * `subhost cgroups setup`: subhost/ and vm/ in every hierarchy with the controllers cgroup2
 * offers, and every VM process in vm/NAME. Idempotent; moves nothing that is not a VM; a
 * failure moves back what it moved and removes what it made.
 */
export async function setupCgroups(rt: Runtime, opts: { dryRun?: boolean } = {}): Promise<SetupOutcome> {
  const v1 = findV1Hierarchies();
  const facts = { host: hostname(), cgroupMount: rt.cgroupMount, v1, offered: new Cgroup(rt.cgroupMount).controllers(), vms: findVmProcesses() };
  const { plan, vms } = buildSetupPlan(facts);
  if (opts.dryRun) return { dryRun: true, plan, vms };
  const ctx: SetupContext = { results: new Map(), cgroupMount: rt.cgroupMount, v1 };
  const applied = await executePlan(plan, SETUP_HANDLERS, ctx);
  const parents = applied.filter((a) => a.kind === 'cgroup-parent').map((a) => a.result as ParentOutcome);
  const moves = new Map(applied.filter((a) => a.kind === 'move-vm').map((a) => [(a.params as MoveVmParams).pid, a.result as MoveVmResult]));
  const outcomes: VmOutcome[] = vms.map((d) => {
    const base = { pid: d.pid, exe: d.exe, ...(d.name ? { name: d.name } : {}) };
    if (d.action === 'skip') return { ...base, action: 'skipped', reason: d.reason };
    const cgroup = `vm/${d.name}`;
    if (d.action === 'in place') return { ...base, cgroup, action: 'in place' };
    return moves.get(d.pid)?.moved ? { ...base, cgroup, action: 'moved' } : { ...base, action: 'exited', reason: 'it ended before it could be moved' };
  });
  return { dryRun: false, report: { host: facts.host, cgroup2: rt.cgroupMount, v1: v1.map((h) => ({ mountPoint: h.mountPoint, controllers: h.controllers })), parents, vms: outcomes } };
}
