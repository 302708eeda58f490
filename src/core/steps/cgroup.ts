import { SubhostError } from '../../errors';
import { Cgroup } from '../../host/cgroupfs';
import { applyLimits, WANTED_CONTROLLERS } from '../cgroup-limits';
import type { Limits } from '../config/types';
import { CGROUP_PARENT } from '../paths';
import type { StepHandler } from '../plan/executor';
import type { SubhostContext } from './context';

export interface CgroupParams {
  /** Relative to the cgroup2 mount: subhost/NAME. */
  path: string;
  limits: Limits;
}

/** The parent subhost/ cgroup, with the controllers we need enabled where the host offers them. */
export function ensureParent(cgroupMount: string): { parent: Cgroup; controllers: string[] } {
  const root = new Cgroup(cgroupMount);
  const parent = root.child(CGROUP_PARENT);
  parent.create();
  root.enableControllers(WANTED_CONTROLLERS);
  return { parent, controllers: parent.enableControllers(WANTED_CONTROLLERS) };
}

export async function removeCgroup(cg: Cgroup): Promise<void> {
  if (!cg.exists()) return;
  cg.kill();
  if (!(await cg.waitEmpty(5000))) throw new SubhostError(`processes in ${cg.path} did not die after SIGKILL`);
  cg.remove();
}

export const cgroupCreate: StepHandler<CgroupParams, { path: string }, SubhostContext> = {
  async apply(p, ctx) {
    const { controllers } = ensureParent(ctx.cgroupMount);
    const cg = new Cgroup(`${ctx.cgroupMount}/${p.path}`);
    if (cg.exists()) {
      if (cg.populated()) throw new SubhostError(`cgroup ${cg.path} already has processes (left over? \`subhost stop ${ctx.name}\` releases it)`);
      cg.remove();
    }
    cg.create();
    ctx.warnings.push(...applyLimits(cg, p.limits, controllers));
    return { path: cg.path };
  },
  async undo(p, _r, ctx) {
    await removeCgroup(new Cgroup(`${ctx.cgroupMount}/${p.path}`));
  },
};
