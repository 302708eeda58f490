import type { BenchWorld } from './fixture';
import { figure, type Figure } from './figures';

/** 3. `subhost usage` with 10, 100 and 500 active cgroups (filled in with the usage command). */
export async function benchUsage(_w: BenchWorld, _runs: number): Promise<Figure[]> {
  return [figure('usage', '`subhost usage`', 'ms', [], undefined, 'not measured yet: the usage command is not merged')];
}
