import { SleepCgroups } from './cgroups';
import type { BenchWorld } from './fixture';
import { figure, type Figure } from './figures';
import { must, subhostArgv } from './run';

/**
 * 3. `subhost usage` with 10, 100 and 500 active cgroups. usage reads cgroup files only, so each
 * "subhost" here is a cgroup subhost/PREFIXuNNN (v2, and v1 on a hybrid host) holding one sleep.
 */
export async function benchUsage(w: BenchWorld, runs: number): Promise<Figure[]> {
  const cgroups = new SleepCgroups(`${w.prefix}u`);
  const figures: Figure[] = [];
  try {
    for (const count of [10, 100, 500]) {
      cgroups.growTo(count);
      const times: number[] = [];
      for (let i = 0; i < runs; i++) times.push(must(subhostArgv('usage', '--json'), w.env).ms);
      const prom: number[] = [];
      for (let i = 0; i < runs; i++) prom.push(must(subhostArgv('usage', '--prometheus'), w.env).ms);
      figures.push(figure(`usage-${count}`, `\`subhost usage --json\`, ${count} active cgroups`, 'ms', times, count === 500 ? 200 : undefined));
      figures.push(figure(`usage-prom-${count}`, `\`subhost usage --prometheus\`, ${count} active cgroups`, 'ms', prom));
    }
  } finally {
    await cgroups.remove();
  }
  return figures;
}
