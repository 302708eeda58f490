import type { BenchWorld } from './fixture';
import { figure, type Figure } from './figures';
import { must, subhostArgv } from './run';

/** Levels of running subhosts the scale section measures at (--scale overrides). */
export const SCALE_LEVELS = [0, 50, 200];
/** Index of the first of the subhosts kept running (the measured one is name(0), the hundred 1..100). */
const FIRST = 101;

/**
 * 6. Scale: `subhost boot` and `subhost stop` of one subhost with 0, 50 and 200 others running
 * (booted in batches of `--parallel 4`), and the ratio of the highest level to 0: nothing in
 * boot or stop may grow with the host's count of subhosts, links, mounts or cgroups.
 */
export async function benchScale(w: BenchWorld, runs: number, levels: number[] = SCALE_LEVELS): Promise<Figure[]> {
  const measured = await w.makeSubhost(0);
  const running: string[] = [];
  const out: Figure[] = [];
  const med: Record<string, Record<number, number>> = { boot: {}, stop: {}, 'boot-cpu': {}, 'stop-cpu': {} };
  try {
    for (const level of [...levels].sort((a, b) => a - b)) {
      const more: string[] = [];
      while (running.length + more.length < level) more.push(await w.makeSubhost(FIRST + running.length + more.length));
      if (more.length) must(subhostArgv('boot', '--parallel', '4', ...more), w.env);
      running.push(...more);
      const boot: number[] = [];
      const stop: number[] = [];
      const bootCpu: number[] = [];
      const stopCpu: number[] = [];
      for (let i = 0; i < runs; i++) {
        const b = must(subhostArgv('boot', measured), w.env);
        const s = must(subhostArgv('stop', measured), w.env);
        boot.push(b.ms);
        stop.push(s.ms);
        bootCpu.push(b.cpuMs);
        stopCpu.push(s.cpuMs);
      }
      const figs = [
        figure(`scale-boot-${level}`, `\`subhost boot\` with ${level} subhosts running`, 'ms', boot),
        figure(`scale-stop-${level}`, `\`subhost stop\` with ${level} subhosts running`, 'ms', stop),
        // CPU of the command and its children: what grows with the count, without the host's other load.
        figure(`scale-boot-cpu-${level}`, `CPU of \`subhost boot\` with ${level} running`, 'ms', bootCpu),
        figure(`scale-stop-cpu-${level}`, `CPU of \`subhost stop\` with ${level} running`, 'ms', stopCpu),
      ];
      for (const f of figs) med[f.id.replace(/^scale-/, '').replace(/-\d+$/, '')][level] = f.median;
      out.push(...figs);
    }
  } finally {
    for (let i = 0; i < running.length; i += 50) must(subhostArgv('stop', '--parallel', '4', ...running.slice(i, i + 50)), w.env);
  }
  const lo = Math.min(...levels);
  const hi = Math.max(...levels);
  if (hi > lo) {
    for (const op of ['boot', 'stop'] as const) {
      out.push(figure(`scale-${op}-ratio`, `\`subhost ${op}\` at ${hi} running / at ${lo} (medians)`, 'x', [med[op][hi] / med[op][lo]], 1.2));
      out.push(figure(`scale-${op}-cpu-ratio`, `CPU of \`subhost ${op}\` at ${hi} running / at ${lo} (medians)`, 'x', [med[`${op}-cpu`][hi] / med[`${op}-cpu`][lo]], 1.2));
    }
  }
  return out;
}
