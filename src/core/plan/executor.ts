import { asSubhostError, SubhostError } from '../../errors';
import { trace, TRACE } from '../../host/exec';
import type { AppliedStep } from '../state';
import { RevertStack } from './revert';
import type { Plan, Step } from './types';

/** What a step handler gets: the results of earlier steps, by step id. */
export interface StepContext {
  results: Map<string, unknown>;
}

export interface StepHandler<P = any, R = any, C extends StepContext = StepContext> {
  /** Refuse before anything is made (something is in the way): no undo follows, so what is in the way is left alone. */
  check?(params: P, ctx: C): Promise<void> | void;
  apply(params: P, ctx: C, step: Step<P>): Promise<R>;
  /** Undo what apply made; also called by stop on a record left by a crash, so it must be idempotent. */
  undo?(params: P, result: R | undefined, ctx: C): Promise<void>;
}

export type Handlers<C extends StepContext> = Record<string, StepHandler<any, any, C>>;

export interface ExecuteOptions {
  /** Called after each step with everything applied so far (the caller persists it). */
  record?: (applied: AppliedStep[]) => void;
  /** Called before each step; the fault-injection tests use it to kill us at every step. */
  beforeStep?: (step: Step, index: number) => void;
  /** Called after a step applied, before it is recorded (a crash between doing and recording). */
  afterStep?: (step: Step, index: number) => void;
}

/**
 * Apply the steps in order. On failure undo everything applied, last first, and throw the
 * first error with the failed step as context; teardown errors go into its details.
 */
export async function executePlan<C extends StepContext>(plan: Plan, handlers: Handlers<C>, ctx: C, opts: ExecuteOptions = {}): Promise<AppliedStep[]> {
  const revert = new RevertStack();
  const applied: AppliedStep[] = [];
  for (const [index, step] of plan.steps.entries()) {
    const handler = handlers[step.kind];
    if (!handler) throw new SubhostError(`internal: no handler for step kind ${step.kind}`);
    try {
      opts.beforeStep?.(step, index);
      await handler.check?.(step.params, ctx);
    } catch (err) {
      throw await failed(asSubhostError(err).withContext(step.describe), revert);
    }
    try {
      const t0 = TRACE ? performance.now() : 0;
      const result = await handler.apply(step.params, ctx, step);
      if (TRACE) trace(`step ${step.kind} ${(performance.now() - t0).toFixed(1)} ms`);
      opts.afterStep?.(step, index);
      ctx.results.set(step.id, result);
      applied.push({ kind: step.kind, id: step.id, params: step.params, result: result ?? null });
      if (handler.undo) revert.add(step.describe, () => handler.undo!(step.params, result, ctx));
      opts.record?.(applied);
    } catch (err) {
      // A step that failed half-way may have made something: its undo runs too.
      if (handler.undo) revert.add(step.describe, () => handler.undo!(step.params, undefined, ctx));
      throw await failed(asSubhostError(err).withContext(step.describe), revert);
    }
  }
  return applied;
}

/** Undo what was done; the first error stays the one reported, teardown errors go into its details. */
async function failed(first: SubhostError, revert: RevertStack): Promise<SubhostError> {
  const teardown = await revert.revert();
  for (const t of teardown) first.details.push(`while reverting: ${t.message}`);
  return first;
}

/** Undo applied steps last-first (stop, and recovery after a crash); returns every error. */
export async function undoApplied<C extends StepContext>(applied: AppliedStep[], handlers: Handlers<C>, ctx: C, beforeUndo?: (a: AppliedStep) => void): Promise<SubhostError[]> {
  const revert = new RevertStack();
  for (const a of applied) {
    ctx.results.set(a.id, a.result);
    const h = handlers[a.kind];
    if (h?.undo) {
      revert.add(`${a.kind} ${a.id}`, () => {
        beforeUndo?.(a);
        return h.undo!(a.params, (a.result ?? undefined) as unknown, ctx);
      });
    }
  }
  return revert.revert();
}
