import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchWorld } from './fixture';
import { figure, type Figure } from './figures';
import { buildArgv, must, subhostArgv } from './run';
import { benchBuilds, inTurn, perBuild, type Build } from './compare';

/** Levels of running subhosts the scale section measures at (--scale overrides). */
export const SCALE_LEVELS = [0, 50, 200];
/** Index of the first of the subhosts kept running (the measured one is name(0), the hundred 1..100). */
const FIRST = 101;

/** The host's idle share since the last reading, from /proc/stat (idle and iowait of all CPUs). */
function cpuTimes(): { idle: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
  return { idle: f[3] + f[4], total: f.reduce((a, b) => a + b, 0) };
}

/**
 * Wait until the host is at least 90 % idle over one second (at most 60 s): a batch of new
 * subhosts leaves their guests' start-up and the kernel's writeback of their filesystems running
 * for a while, load that is not what a boot or stop costs with that many subhosts running.
 */
export async function settle(limitMs = 60_000): Promise<{ ms: number; idle: number }> {
  const t0 = Date.now();
  for (;;) {
    const a = cpuTimes();
    await sleep(1000);
    const b = cpuTimes();
    const idle = (b.idle - a.idle) / Math.max(1, b.total - a.total);
    if (idle >= 0.9 || Date.now() - t0 >= limitMs) return { ms: Date.now() - t0, idle };
  }
}

/**
 * 6. Scale: `subhost boot` and `subhost stop` of one subhost (and `list`) with 0, 50 and 200 others running
 * (booted in batches of `--parallel 4`, then the host left to settle), and the ratio of the
 * highest level to 0: nothing in boot or stop may grow with the host's count of subhosts, links,
 * mounts or cgroups.
 */
export async function benchScale(w: BenchWorld, runs: number, levels: number[] = SCALE_LEVELS, builds: Build[] = benchBuilds()): Promise<Figure[]> {
  const measured = await w.makeSubhost(0);
  const running: string[] = [];
  const out: Figure[] = [];
  // Per build (with --compare, the other one measures the same subhost in the same rounds, in turn).
  const med = new Map(builds.map((b) => [b, { boot: {}, stop: {}, 'boot-cpu': {}, 'stop-cpu': {}, list: {} } as Record<string, Record<number, number>>]));
  try {
    for (const level of [...levels].sort((a, b) => a - b)) {
      const more: string[] = [];
      while (running.length + more.length < level) more.push(await w.makeSubhost(FIRST + running.length + more.length));
      if (more.length) must(subhostArgv('boot', '--parallel', '4', ...more), w.env);
      running.push(...more);
      const quiet = await settle();
      process.stderr.write(`scale: ${level} running; the host ${Math.round(quiet.idle * 100)} % idle after ${(quiet.ms / 1000).toFixed(1)} s\n`);
      const m = perBuild(builds, ['boot', 'stop', 'bootCpu', 'stopCpu', 'list'] as const);
      for (let i = 0; i < runs; i++) {
        for (const b of inTurn(builds, i)) {
          const x = m.get(b)!;
          const booted = must(buildArgv(b.bin, 'boot', measured), w.env);
          const stopped = must(buildArgv(b.bin, 'stop', measured), w.env);
          x.boot.push(booted.ms);
          x.stop.push(stopped.ms);
          x.bootCpu.push(booted.cpuMs);
          x.stopCpu.push(stopped.cpuMs);
          // After the stop, so that boot and stop follow each other as in the other sections.
          x.list.push(must(buildArgv(b.bin, 'list'), w.env).ms);
        }
      }
      for (const b of builds) {
        const x = m.get(b)!;
        const figs = {
          boot: figure(`scale-boot-${level}${b.suffix}`, `\`subhost boot\` with ${level} subhosts running${b.note}`, 'ms', x.boot),
          stop: figure(`scale-stop-${level}${b.suffix}`, `\`subhost stop\` with ${level} subhosts running${b.note}`, 'ms', x.stop),
          // CPU of the command and its children: what grows with the count, without the host's other load.
          'boot-cpu': figure(`scale-boot-cpu-${level}${b.suffix}`, `CPU of \`subhost boot\` with ${level} running${b.note}`, 'ms', x.bootCpu),
          'stop-cpu': figure(`scale-stop-cpu-${level}${b.suffix}`, `CPU of \`subhost stop\` with ${level} running${b.note}`, 'ms', x.stopCpu),
          list: figure(`scale-list-${level}${b.suffix}`, `\`subhost list\` with ${level} subhosts running${b.note}`, 'ms', x.list),
        };
        for (const [key, f] of Object.entries(figs)) med.get(b)![key][level] = f.median;
        out.push(...Object.values(figs));
      }
    }
  } finally {
    for (let i = 0; i < running.length; i += 50) must(subhostArgv('stop', '--parallel', '4', ...running.slice(i, i + 50)), w.env);
  }
  const lo = Math.min(...levels);
  const hi = Math.max(...levels);
  if (hi > lo) {
    for (const b of builds) {
      const x = med.get(b)!;
      for (const op of ['boot', 'stop'] as const) {
        out.push(figure(`scale-${op}-ratio${b.suffix}`, `\`subhost ${op}\` at ${hi} running / at ${lo} (medians)${b.note}`, 'x', [x[op][hi] / x[op][lo]], b.suffix ? undefined : 1.2));
        out.push(figure(`scale-${op}-cpu-ratio${b.suffix}`, `CPU of \`subhost ${op}\` at ${hi} running / at ${lo} (medians)${b.note}`, 'x', [x[`${op}-cpu`][hi] / x[`${op}-cpu`][lo]], b.suffix ? undefined : 1.2));
      }
      // list shows every subhost, so it grows with them: what each running one adds is the figure.
      out.push(figure(`scale-list-per-subhost${b.suffix}`, `\`subhost list\`: each running subhost adds (medians, ${lo} to ${hi})${b.note}`, 'ms', [(x.list[hi] - x.list[lo]) / (hi - lo)]));
    }
  }
  return out;
}
