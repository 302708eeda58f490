import { SubhostError } from '../../errors';
import { Cgroup } from '../../host/cgroupfs';
import { applyLimits, WANTED_CONTROLLERS } from '../cgroup-limits';
import type { Limits } from '../config/types';
import { CGROUP_PARENT } from '../paths';
import type { StepHandler } from '../plan/executor';
import { CgroupSet } from '../subhost-cgroups';
import type { SubhostContext } from './context';

export interface CgroupParams {
  /** Relative to the cgroup2 mount (and to each v1 hierarchy on hybrid hosts): subhost/NAME. */
  path: string;
  limits: Limits;
}

export interface CgroupResult {
  /** The cgroup v2 directory. */
  path: string;
  /** The same cgroup in the v1 hierarchies of a hybrid host. */
  v1: string[];
}

/** The parent subhost/ cgroup, with the controllers we need enabled where the host offers them. */
export function ensureParent(cgroupMount: string): { parent: Cgroup; controllers: string[] } {
  const root = new Cgroup(cgroupMount);
  const parent = root.child(CGROUP_PARENT);
  parent.create();
  root.enableControllers(WANTED_CONTROLLERS);
  return { parent, controllers: parent.enableControllers(WANTED_CONTROLLERS) };
}

/** Kill what is inside (through v2, which sees every process), then remove every directory. */
export async function removeCgroupSet(set: CgroupSet): Promise<void> {
  const existing = set.existing();
  if (!existing.length) return;
  if (set.v2.exists()) set.v2.kill();
  for (const c of existing) {
    if (c !== set.v2) for (const pid of c.allProcs()) killQuietly(pid);
    if (!(await c.waitEmpty(5000))) throw new SubhostError(`processes in ${c.path} did not die after SIGKILL`);
  }
  for (const c of existing) c.remove();
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone */
  }
}

export const cgroupCreate: StepHandler<CgroupParams, CgroupResult, SubhostContext> = {
  check(p, ctx) {
    for (const c of CgroupSet.at(ctx.cgroupMount, p.path).existing()) {
      if (c.populated()) throw new SubhostError(`cgroup ${c.path} already has processes (left over? \`subhost stop ${ctx.name}\` releases it)`);
    }
  },
  async apply(p, ctx) {
    const { controllers } = ensureParent(ctx.cgroupMount);
    const set = CgroupSet.at(ctx.cgroupMount, p.path);
    // Empty and ours (everything under subhost/ is): the kernel lets us remove and make it anew.
    for (const c of set.existing()) c.remove();
    set.create();
    ctx.warnings.push(...applyLimits(set.v2, p.limits, controllers));
    return { path: set.v2.path, v1: set.v1.map((x) => x.cgroup.path) };
  },
  async undo(p, _r, ctx) {
    await removeCgroupSet(CgroupSet.at(ctx.cgroupMount, p.path));
  },
};
