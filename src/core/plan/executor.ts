import { asSubhostError, SubhostError } from '../../errors';
import type { AppliedStep } from '../state/records';
import { RevertStack } from './revert';
import { timed } from './timings';
import { predecessors, type Plan, type Step, type StepOf } from './types';

/** What a step handler gets: the results of earlier steps, by step id. */
export interface StepContext {
  results: Map<string, unknown>;
}

export interface StepHandler<P, R, C extends StepContext = StepContext> {
  /** Refuse before anything is made (something is in the way): no undo follows, so what is in the way is left alone. */
  check?(params: P, ctx: C): Promise<void> | void;
  apply(params: P, ctx: C, step: Step<string, P>): Promise<R>;
  /** Undo what apply made; also called by stop on a record left by a crash, so it must be idempotent. */
  undo?(params: P, result: R | undefined, ctx: C): Promise<void>;
}

/** One handler per kind of the table M, each taking that kind's parameters (its result is its own). */
export type Handlers<M, C extends StepContext> = { [K in keyof M]: StepHandler<M[K], unknown, C> };

/** The handler of a step or of a recorded step: records come from disk, so their kind is checked. */
function handlerOf<M, C extends StepContext>(handlers: Handlers<M, C>, kind: string): StepHandler<unknown, unknown, C> | undefined {
  return Object.prototype.hasOwnProperty.call(handlers, kind) ? (handlers[kind as keyof M] as StepHandler<unknown, unknown, C>) : undefined;
}

export interface ExecuteOptions {
  /** Called after each step with everything applied so far (the caller persists it). */
  record?: (applied: AppliedStep[]) => void;
  /** Called before each step; the fault-injection tests use it to kill us at every step. */
  beforeStep?: (step: Step, index: number) => void;
  /** Called after a step applied, before it is recorded (a crash between doing and recording). */
  afterStep?: (step: Step, index: number) => void;
}

/**
 * Run task i once every task in waits[i] has succeeded, all ready tasks at the same time; once
 * halted() says so, nothing new starts and the running ones finish. Resolves with the tasks that
 * succeeded (a task resolves true for success).
 */
async function runGraph(waits: number[][], task: (i: number) => Promise<boolean>, halted: () => boolean = () => false): Promise<Set<number>> {
  const succeeded = new Set<number>();
  const started = new Set<number>();
  const running = new Map<number, Promise<void>>();
  for (;;) {
    if (!halted()) {
      waits.forEach((w, i) => {
        if (started.has(i) || !w.every((j) => succeeded.has(j))) return;
        started.add(i);
        running.set(
          i,
          task(i).then((ok) => {
            if (ok) succeeded.add(i);
            running.delete(i);
          }),
        );
      });
    }
    if (running.size === 0) return succeeded;
    await Promise.race(running.values());
  }
}

/**
 * Apply the steps, each once its predecessors are applied (in plan order by default; steps with
 * `after` may run at the same time). On failure nothing new starts, the steps under way finish,
 * and everything applied is undone, last done first; the first error is thrown with its step as
 * context and teardown errors go into its details. A step that refuses (check) is not undone.
 */
export async function executePlan<M, C extends StepContext>(plan: Plan<StepOf<M>>, handlers: Handlers<M, C>, ctx: C, opts: ExecuteOptions = {}): Promise<AppliedStep[]> {
  const revert = new RevertStack();
  const applied: AppliedStep[] = [];
  const steps = plan.steps;
  const handlerFor = steps.map((step) => {
    const h = handlerOf(handlers, step.kind);
    if (!h) throw new SubhostError(`internal: no handler for step kind ${step.kind}`);
    return h;
  });
  const position = new Map(steps.map((s, i) => [s.id, i]));
  const waitsFor = steps.map((_, i) => predecessors(steps, i));
  // A predecessor the plan does not have can never be done (-1): caught below as a broken plan.
  const waits = waitsFor.map((ids) => ids.map((id) => position.get(id) ?? -1));
  let first: SubhostError | undefined;

  const runStep = async (index: number): Promise<boolean> => {
    const step: Step = steps[index];
    const handler = handlerFor[index];
    try {
      opts.beforeStep?.(step, index);
      await handler.check?.(step.params, ctx);
    } catch (err) {
      first ??= asSubhostError(err).withContext(step.describe);
      return false;
    }
    try {
      const result = await handler.apply(step.params, ctx, step);
      opts.afterStep?.(step, index);
      ctx.results.set(step.id, result);
      applied.push({ kind: step.kind, id: step.id, params: step.params, result: result ?? null, after: waitsFor[index] });
      if (handler.undo) revert.add(step.describe, () => handler.undo!(step.params, result, ctx));
    } catch (err) {
      // A step that failed half-way may have made something: its undo runs too.
      if (handler.undo) revert.add(step.describe, () => handler.undo!(step.params, undefined, ctx));
      first ??= asSubhostError(err).withContext(step.describe);
      return false;
    }
    try {
      opts.record?.(applied);
    } catch (err) {
      // Done but not recorded (a full /run): its undo is on the stack already, with what it made.
      first ??= asSubhostError(err).withContext(`recording: ${step.describe}`);
      return false;
    }
    return true;
  };

  const done = await runGraph(waits, (i) => timed(stepLabel(steps[i]), () => runStep(i)), () => first !== undefined);
  if (first) throw await failed(first, revert);
  if (done.size !== steps.length) throw new SubhostError(`internal: plan ${plan.command} ${plan.name} has steps that wait for steps it does not have`);
  return applied;
}

/** A step's row in --timings: its kind, and its id when that says more (a path shortened to its file). */
export function stepLabel(step: { kind: string; id: string }): string {
  return step.id === step.kind ? step.kind : `${step.kind} ${step.id.replace(/[^:]*\//, '')}`;
}

/** Undo what was done; the first error stays the one reported, teardown errors go into its details. */
async function failed(first: SubhostError, revert: RevertStack): Promise<SubhostError> {
  const teardown = await revert.revert();
  for (const t of teardown) first.details.push(`while reverting: ${t.message}`);
  return first;
}

/**
 * Undo applied steps (stop, and recovery after a crash), each after the undos of the steps that
 * waited for it: the reverse of the order they were applied in, with independent chains (the
 * network, the disks) undone at the same time. Every undo runs, whatever fails; returns every error.
 */
export async function undoApplied<M, C extends StepContext>(applied: AppliedStep[], handlers: Handlers<M, C>, ctx: C, beforeUndo?: (a: AppliedStep) => void): Promise<SubhostError[]> {
  for (const a of applied) ctx.results.set(a.id, a.result);
  const index = new Map(applied.map((a, i) => [a.id, i]));
  const dependents: number[][] = applied.map(() => []);
  applied.forEach((a, i) => {
    // A record without `after` (older, or a plain sequence) was applied in order.
    for (const id of a.after ?? (i > 0 ? [applied[i - 1].id] : [])) {
      const j = index.get(id);
      if (j !== undefined && j !== i) dependents[j].push(i);
    }
  });
  const errors: SubhostError[] = [];
  await runGraph(dependents, async (i) => {
    const a = applied[i];
    const h = handlerOf(handlers, a.kind);
    try {
      if (h?.undo) {
        beforeUndo?.(a);
        await timed(`undo ${stepLabel(a)}`, () => h.undo!(a.params, a.result ?? undefined, ctx));
      }
    } catch (err) {
      errors.push(asSubhostError(err).withContext(`undoing ${a.kind} ${a.id}`));
    }
    // A failed undo must not hold back the others: every undo runs.
    return true;
  });
  return errors;
}
