import { attachDevicePolicy, devicePrograms } from '../cgroups/device-bpf';
import { SubhostError } from '../../errors';
import { DEVICES_LEAF, deviceRules, parseDevicesList, v1Rule, type DeviceControl, usesV1Devices, type DeviceRule } from '../cgroups/devices';
import type { Cgroup } from '../../host/cgroupfs';
import type { StepHandler } from '../plan/executor';
import { CgroupSet } from '../cgroups/subhost-cgroups';
import { resultOf, type SubhostContext } from './context';
import type { PartitionResult } from './disks';

declare module '../plan/subhost-steps' {
  interface SubhostStepKinds {
    devices: DevicesParams;
  }
}

export interface DevicesParams {
  /** Relative to each hierarchy's root: subhost/NAME (made by the cgroup step). */
  cgroup: string;
  /** The declared disks: node inside and the partition step that knows its numbers. */
  disks: { node: string; from: string }[];
  tun: boolean;
  control: DeviceControl;
}

/** The device eBPF program in force: attached to subhost/NAME in cgroup2, the guest in its child. */
export interface DeviceProgramRecord {
  id: number;
  tag: string;
  attachedTo: string;
  guestCgroup: string;
}

export interface DevicesResult {
  control: DeviceControl;
  /** The v1 devices cgroup the guest's processes join (the leaf), where v1 enforces too. */
  cgroup?: string;
  /** What was allowed: the node (null, pts, vda1, net/tun) and its rule as devices.list prints it. */
  allowed?: { what: string; rule: string }[];
  program?: DeviceProgramRecord;
}

/** v1: deny every device, allow the list, then make the leaf the guest runs in (it inherits them). */
function restrictV1(cg: Cgroup, rules: string[]): string {
  cg.set('devices.deny', 'a');
  for (const r of rules) cg.set('devices.allow', r);
  const leaf = cg.child(DEVICES_LEAF);
  leaf.create();
  const inForce = parseDevicesList(leaf.get('devices.list') ?? '');
  const missing = rules.filter((r) => !inForce.rules.includes(r));
  if (inForce.all || missing.length) throw new SubhostError(`${leaf.path}/devices.list is not the rules written (${inForce.rules.join(', ')})`);
  return leaf.path;
}

/** cgroup2: the program on the cgroup, the guest's leaf below it, with the controllers handed down. */
function restrictBpf(cg: Cgroup, rules: DeviceRule[]): DeviceProgramRecord {
  const { id, tag } = attachDevicePolicy(cg.path, rules);
  const leaf = cg.child(DEVICES_LEAF);
  leaf.create();
  // No process of its own in subhost/NAME, so it may: the guest keeps its controllers, under our limits.
  cg.enableControllers(cg.controllers());
  if (!devicePrograms(leaf.path, true).includes(id)) throw new SubhostError(`device eBPF program ${id} is not in force for ${leaf.path}`);
  return { id, tag, attachedTo: cg.path, guestCgroup: leaf.path };
}

/** Deny every device but the guest's own, by both mechanisms the host has; undone with the cgroup. */
export const devicesRestrict: StepHandler<DevicesParams, DevicesResult, SubhostContext> = {
  async apply(p, ctx) {
    const set = CgroupSet.at(ctx.cgroupMount, p.cgroup);
    const disks = p.disks.map((d) => ({ node: d.node, ...resultOf<PartitionResult>(ctx, d.from) }));
    const rules = deviceRules(disks, p.tun);
    const allowed = rules.map((r) => ({ what: r.what, rule: v1Rule(r) }));
    let cgroup: string | undefined;
    if (usesV1Devices(p.control)) {
      const cg = set.v1For('devices');
      if (!cg?.exists()) throw new SubhostError(`the cgroup v1 devices hierarchy has no ${p.cgroup}`);
      cgroup = restrictV1(cg, allowed.map((a) => a.rule));
    }
    const program = restrictBpf(set.v2, rules);
    return { control: p.control, ...(cgroup ? { cgroup } : {}), allowed, program };
  },
};
