import { SubhostError } from '../../errors';
import { blockNumbers } from '../../host/loop';
import { applyLimits, type AppliedLimit } from '../cgroups/limits';
import { ensureParent } from '../cgroups/parents';
import type { Limits } from '../config/types';
import { CGROUP_PARENT } from '../state/paths';
import type { StepHandler } from '../plan/executor';
import { CgroupSet } from '../cgroups/subhost-cgroups';
import { countIoOnV1 } from '../cgroups/v1-io-accounting';
import type { SubhostContext } from './context';
import type { LoopResult, PartitionResult } from './disks';

declare module '../plan/subhost-steps' {
  interface SubhostStepKinds {
    cgroup: CgroupParams;
    'io-accounting': IoAccountingParams;
  }
}

export interface CgroupParams {
  /** Relative to the cgroup2 mount (and to each v1 hierarchy on hybrid hosts): subhost/NAME. */
  path: string;
  limits: Limits;
}

export interface IoAccountingParams {
  /** The subhost's cgroup, relative to each hierarchy's root. */
  path: string;
  /** Ids of the loop-attach and partition steps: the loop devices the guest's IO goes through. */
  loops: string[];
}

export interface CgroupResult {
  /** The cgroup v2 directory. */
  path: string;
  /** The same cgroup in the v1 hierarchies of a hybrid host. */
  v1: string[];
  /** The limits written, and where. */
  limits?: AppliedLimit[];
}

/** Whole loop devices among the results of the given steps (a kernel partition's disk is its loop). */
function loopDevices(ctx: SubhostContext, ids: string[]): string[] {
  const devs = new Set<string>();
  for (const id of ids) {
    const r = ctx.results.get(id) as (LoopResult & Partial<PartitionResult>) | undefined;
    if (r && (!('ownLoop' in r) || r.ownLoop)) devs.add(r.dev);
  }
  return [...devs].flatMap((d) => {
    const n = blockNumbers(d);
    return n ? [`${n.major}:${n.minor}`] : [];
  });
}

export const cgroupCreate: StepHandler<CgroupParams, CgroupResult, SubhostContext> = {
  check(p, ctx) {
    for (const c of CgroupSet.at(ctx.cgroupMount, p.path).existing()) {
      if (c.populated()) throw new SubhostError(`cgroup ${c.path} already has processes (left over? \`subhost stop ${ctx.name}\` releases it)`);
    }
  },
  async apply(p, ctx) {
    ensureParent(ctx.cgroupMount, CGROUP_PARENT);
    const set = CgroupSet.at(ctx.cgroupMount, p.path);
    // Empty and ours (everything under subhost/ is): the kernel lets us remove and make it anew.
    for (const c of set.existing()) c.remove();
    set.create();
    const { applied, warnings } = applyLimits(set, p.limits);
    ctx.warnings.push(...warnings);
    return { path: set.v2.path, v1: set.v1.map((x) => x.cgroup.path), limits: applied };
  },
  async undo(p, _r, ctx) {
    await CgroupSet.at(ctx.cgroupMount, p.path).remove();
  },
};

/** Switch on v1 IO counting for the subhost's loop devices (hybrid hosts; nothing to undo: it goes with the cgroup). */
export const ioAccounting: StepHandler<IoAccountingParams, { counted: string[] }, SubhostContext> = {
  async apply(p, ctx) {
    const io = await countIoOnV1(CgroupSet.at(ctx.cgroupMount, p.path), loopDevices(ctx, p.loops));
    ctx.warnings.push(...io.warnings);
    return { counted: io.counted };
  },
};
