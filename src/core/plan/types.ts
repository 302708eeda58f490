/**
 * A plan is data: the list of steps a command will take, printable (--dry-run) and testable
 * without touching the host. One executor applies it; each step kind has a handler with an undo.
 */
export interface Step<K extends string = string, P = unknown> {
  kind: K;
  /** Unique within the plan; later steps refer to an earlier step's result by this id. */
  id: string;
  /** One line for --dry-run and for error context. */
  describe: string;
  params: P;
  /**
   * Ids of the steps that must be applied before this one. Absent: the step before it in the
   * plan (in order). The executor runs steps whose predecessors are done at the same time.
   */
  after?: string[];
}

/**
 * The steps over a table of kinds M (kind -> its parameters): a union in which each kind carries
 * its own parameters, so a planner cannot give a step the wrong ones.
 */
export type StepOf<M> = { [K in keyof M & string]: Step<K, M[K]> }[keyof M & string];

export interface Plan<S extends Step = Step> {
  name: string;
  command: string;
  steps: S[];
}

/** What each step waits for: its `after`, or else the step before it. */
export function predecessors(steps: Step[], index: number): string[] {
  return steps[index].after ?? (index > 0 ? [steps[index - 1].id] : []);
}

export function formatPlan(plan: Plan): string {
  const lines = [`${plan.command} ${plan.name}: ${plan.steps.length} step${plan.steps.length === 1 ? '' : "s"}`];
  const number = new Map(plan.steps.map((s, i) => [s.id, i + 1]));
  plan.steps.forEach((s, i) => {
    const after = predecessors(plan.steps, i);
    let note = '';
    // Say what a step waits for only when it is not simply the step before it.
    if (after.length === i && i > 1) note = ' [after all above]';
    else if (after.length === 0 && i > 0) note = ' [at once]';
    else if (after.length && !(after.length === 1 && after[0] === plan.steps[i - 1]?.id)) note = ` [after ${after.map((a) => number.get(a)).join(', ')}]`;
    lines.push(`${String(i + 1).padStart(3)}. ${s.describe}${note}`);
  });
  return lines.join('\n');
}
