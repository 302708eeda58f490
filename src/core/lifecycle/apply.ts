import type { SubhostError } from '../../errors';
import { executePlan } from '../plan/executor';
import type { SubhostPlan } from '../plan/subhost-steps';
import type { Runtime } from '../state/runtime';
import { removeRuntimeDir, writeState, type StateRecord } from '../state/records';
import type { SubhostContext } from '../steps/context';
import { SUBHOST_HANDLERS } from '../steps/handlers';
import { crashPoint, killAtStep } from '../../test-hooks';

/**
 * Apply plan on top of what record has applied already (nothing for boot and start, everything
 * but PID 1 for a resume), writing the record after every step. If it fails and reverts
 * cleanly, the subhost is as it was before (a fresh record is removed); if the revert left
 * something, the record stays (phase starting, failed) for `subhost stop`.
 */
export async function applyRecorded(rt: Runtime, record: StateRecord, plan: SubhostPlan, ctx: SubhostContext): Promise<void> {
  const before = record.applied;
  try {
    const applied = await executePlan(plan, SUBHOST_HANDLERS, ctx, {
      record: (a) => {
        record.applied = [...before, ...a];
        writeState(rt.paths, record);
      },
      beforeStep: (step, index) => {
        killAtStep(rt.env, index);
        crashPoint(rt.env, `${record.op?.cmd}:before:${step.id}`);
      },
      afterStep: (step) => crashPoint(rt.env, `${record.op?.cmd}:after:${step.id}`),
    });
    record.applied = [...before, ...applied];
  } catch (err) {
    const clean = !(err as SubhostError).details?.some((d) => d.startsWith('while reverting'));
    if (clean && before.length === 0) removeRuntimeDir(rt.paths, record.name);
    else {
      if (clean) record.applied = before;
      else record.phase = 'starting';
      delete record.op;
      try {
        writeState(rt.paths, record);
      } catch (writing) {
        // The failure to report is the first one; the record on disk still says what was applied.
        (err as SubhostError).details?.push(`while recording the revert: ${(writing as Error).message}`);
      }
    }
    throw err;
  }
}
