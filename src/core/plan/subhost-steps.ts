import type { Plan, StepOf } from './types';

/**
 * Every step kind of a subhost plan, with its parameters. Empty here on purpose: each step module
 * in steps/ adds its own kinds beside the handler that applies them (`declare module` below its
 * imports), so the planner knows the kinds and their parameters without importing a step's code,
 * and steps/handlers.ts cannot leave a kind without a handler of the right parameters.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface SubhostStepKinds {}

export type SubhostStep = StepOf<SubhostStepKinds>;
export type SubhostPlan = Plan<SubhostStep>;
