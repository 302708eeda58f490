import { SubhostError } from '../../errors';
import { DEVICE_GAP, DEVICES_LEAF, deviceRules, parseDevicesList, v1Rule, type DeviceControl } from '../cgroups/devices';
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

export interface DevicesResult {
  control: DeviceControl;
  /** The devices cgroup the guest's processes join (the leaf), when enforced. */
  cgroup?: string;
  /** What was allowed: the node (null, pts, vda1, net/tun) and its devices.allow line. */
  allowed?: { what: string; rule: string }[];
}

/** Deny every device, allow the list, then make the leaf the guest runs in (it inherits them). */
export const devicesRestrict: StepHandler<DevicesParams, DevicesResult, SubhostContext> = {
  async apply(p, ctx) {
    if (p.control === 'none') {
      ctx.warnings.push(DEVICE_GAP);
      return { control: 'none' };
    }
    const cg = CgroupSet.at(ctx.cgroupMount, p.cgroup).v1For('devices');
    if (!cg?.exists()) throw new SubhostError(`the cgroup v1 devices hierarchy has no ${p.cgroup}`);
    const disks = p.disks.map((d) => ({ node: d.node, ...resultOf<PartitionResult>(ctx, d.from) }));
    const allowed = deviceRules(disks, p.tun).map((r) => ({ what: r.what, rule: v1Rule(r) }));
    const rules = allowed.map((a) => a.rule);
    cg.set('devices.deny', 'a');
    for (const r of rules) cg.set('devices.allow', r);
    const leaf = cg.child(DEVICES_LEAF);
    leaf.create();
    const inForce = parseDevicesList(leaf.get('devices.list') ?? '');
    const missing = rules.filter((r) => !inForce.rules.includes(r));
    if (inForce.all || missing.length) throw new SubhostError(`${leaf.path}/devices.list is not the rules written (${inForce.rules.join(', ')})`);
    return { control: 'cgroup-v1', cgroup: leaf.path, allowed };
  },
};
