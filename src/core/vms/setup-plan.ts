import type { V1Hierarchy } from '../../host/cgroup-v1';
import type { ProcCgroups } from '../../host/cgroup-text';
import { WANTED_CONTROLLERS } from '../cgroups/limits';
import { CGROUP_PARENT, CGROUP_VM } from '../state/paths';
import type { Plan, StepOf } from '../plan/types';
import type { VmProcess } from './vm-process';

/** What `cgroups setup` knows of the host before it changes anything (gathered read-only). */
export interface SetupFacts {
  host: string;
  cgroupMount: string;
  v1: V1Hierarchy[];
  /** Controllers the cgroup2 root offers (its cgroup.controllers). */
  offered: string[];
  vms: VmProcess[];
}

export interface MoveVmParams {
  pid: number;
  start: number;
  exe: string;
  name: string;
  /** vm/NAME, relative to every hierarchy. */
  path: string;
  /** Where it was: moved back there if the setup fails. */
  from: ProcCgroups;
}

/** The step kinds of `cgroups setup`, with their parameters (handlers in setup-steps.ts). */
export interface SetupStepKinds {
  'cgroup-parent': { path: string };
  'move-vm': MoveVmParams;
}
export type SetupStep = StepOf<SetupStepKinds>;

export interface VmDecision {
  pid: number;
  exe: string;
  name?: string;
  action: 'move' | 'in place' | 'skip';
  reason?: string;
}

/** In vm/NAME already: in cgroup2 and in every v1 hierarchy subhost uses. */
function placed(vm: VmProcess, path: string, v1: V1Hierarchy[]): boolean {
  return vm.cgroups.v2 === `/${path}` && v1.every((h) => vm.cgroups.v1[h.controllers[0]] === `/${path}`);
}

export function decideVm(vm: VmProcess, v1: V1Hierarchy[]): VmDecision {
  const base = { pid: vm.pid, exe: vm.exe, ...(vm.name ? { name: vm.name } : {}) };
  if (vm.problem) return { ...base, action: 'skip', reason: vm.problem };
  const inSubhost = new RegExp(`^/${CGROUP_PARENT}/([^/]+)`).exec(vm.cgroups.v2 ?? '');
  if (inSubhost) return { ...base, action: 'skip', reason: `it runs inside subhost ${inSubhost[1]}` };
  if (vm.cgroups.v2 === undefined) return { ...base, action: 'skip', reason: 'it has no cgroup2 membership' };
  return { ...base, action: placed(vm, `${CGROUP_VM}/${vm.name}`, v1) ? 'in place' : 'move' };
}

function parentStep(path: string, f: SetupFacts): SetupStep {
  const wanted = WANTED_CONTROLLERS.filter((c) => f.offered.includes(c));
  const v1 = f.v1.length ? ` and in the v1 hierarchies ${f.v1.map((h) => h.controllers.join(',')).join(' ')}` : '';
  const controllers = wanted.length ? `enable ${wanted.join(', ')} for its children` : `cgroup2 here offers none of ${WANTED_CONTROLLERS.join(', ')}`;
  return { kind: 'cgroup-parent', id: `parent:${path}`, describe: `make ${path}/ in ${f.cgroupMount}${v1}; ${controllers}`, params: { path } };
}

/** The setup as a plan (pure): the two parents, then one move per VM not yet in vm/NAME. */
export function buildSetupPlan(f: SetupFacts): { plan: Plan<SetupStep>; vms: VmDecision[] } {
  const steps: SetupStep[] = [parentStep(CGROUP_PARENT, f), parentStep(CGROUP_VM, f)];
  const vms = f.vms.map((vm) => decideVm(vm, f.v1));
  for (const [i, d] of vms.entries()) {
    if (d.action !== 'move') continue;
    const vm = f.vms[i];
    const path = `${CGROUP_VM}/${vm.name}`;
    const params: MoveVmParams = { pid: vm.pid, start: vm.start, exe: vm.exe, name: vm.name!, path, from: vm.cgroups };
    steps.push({ kind: 'move-vm', id: `vm:${vm.pid}`, describe: `move ${vm.exe} PID ${vm.pid} (-name ${vm.name}) from ${vm.cgroups.v2} into ${path}`, params });
  }
  return { plan: { name: f.host, command: 'cgroups setup on', steps }, vms };
}
