/**
 * A plan is data: the list of steps a command will take, printable (--dry-run) and testable
 * without touching the host. One executor applies it; each step kind has a handler with an undo.
 */
export interface Step<P = unknown> {
  kind: string;
  /** Unique within the plan; later steps refer to an earlier step's result by this id. */
  id: string;
  /** One line for --dry-run and for error context. */
  describe: string;
  params: P;
}

export interface Plan {
  name: string;
  command: string;
  steps: Step[];
}

export function formatPlan(plan: Plan): string {
  const lines = [`${plan.command} ${plan.name}: ${plan.steps.length} steps`];
  plan.steps.forEach((s, i) => lines.push(`${String(i + 1).padStart(3)}. ${s.describe}`));
  return lines.join('\n');
}
