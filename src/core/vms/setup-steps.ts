import { join } from 'node:path';
import { asSubhostError } from '../../errors';
import type { V1Hierarchy } from '../../host/cgroup-v1';
import { Cgroup } from '../../host/cgroupfs';
import { isAlive } from '../../host/proc';
import { ensureParent, undoParent, type ParentOutcome } from '../cgroups/parents';
import type { Handlers, StepContext, StepHandler } from '../plan/executor';
import { CgroupSet } from '../cgroups/subhost-cgroups';
import type { MoveVmParams, SetupStepKinds } from './setup-plan';

export interface SetupContext extends StepContext {
  cgroupMount: string;
  v1: V1Hierarchy[];
}

export interface MoveVmResult {
  /** False when the process ended before it could be moved. */
  moved: boolean;
  /** vm/NAME directories made for it. */
  created: string[];
}

const parent: StepHandler<{ path: string }, ParentOutcome, SetupContext> = {
  async apply(p, ctx) {
    return ensureParent(ctx.cgroupMount, p.path, ctx.v1);
  },
  async undo(_p, r) {
    if (r) undoParent(r);
  },
};

/** Back where it was, in every hierarchy; then the directories made for it, if empty. */
function moveBack(p: MoveVmParams, created: string[], ctx: SetupContext): void {
  const back: Cgroup[] = [];
  if (p.from.v2 !== undefined) back.push(new Cgroup(join(ctx.cgroupMount, p.from.v2)));
  for (const h of ctx.v1) {
    const path = p.from.v1[h.controllers[0]];
    if (path !== undefined) back.push(new Cgroup(join(h.mountPoint, path)));
  }
  if (isAlive({ pid: p.pid, start: p.start })) for (const c of back) c.addProc(p.pid);
  for (const dir of created) {
    const cg = new Cgroup(dir);
    if (cg.exists() && !cg.populated()) cg.remove();
  }
}

const moveVm: StepHandler<MoveVmParams, MoveVmResult, SetupContext> = {
  async apply(p, ctx) {
    const ref = { pid: p.pid, start: p.start };
    if (!isAlive(ref)) return { moved: false, created: [] };
    const set = CgroupSet.at(ctx.cgroupMount, p.path, ctx.v1);
    const created = set.all().filter((c) => !c.exists()).map((c) => c.path);
    try {
      set.create();
      // cgroup.procs moves the whole thread group, in every hierarchy.
      set.addProc(p.pid);
    } catch (err) {
      const gone = !isAlive(ref);
      const first = asSubhostError(err);
      try {
        moveBack(p, created, ctx);
      } catch (e) {
        first.details.push(`while moving PID ${p.pid} back: ${(e as Error).message}`);
      }
      if (gone) return { moved: false, created: [] };
      throw first;
    }
    return { moved: true, created };
  },
  async undo(p, r, ctx) {
    if (r?.moved) moveBack(p, r.created, ctx);
  },
};

export const SETUP_HANDLERS: Handlers<SetupStepKinds, SetupContext> = { 'cgroup-parent': parent, 'move-vm': moveVm };
