import { describe, expect, it } from 'vitest';
import { periodsBetween } from '../../src/report/calendar';
import { rollUp, type RollupInput } from '../../src/report/rollup';
import type { Sample, Series } from '../../src/report/types';
import { memoryAverage } from '../../src/report/usage-sum';

const T0 = Date.parse('2026-12-01T00:00:00Z');
const S = 1000;
const H = 3600 * S;

/** A sample at T0 + sec with counters c (cpu user, cpu system = c/10, io read = 100c, io write = 10c) and memory m. */
function at(sec: number, c: number, m = 1000, peak: number | null = null): Sample {
  return { t: T0 + sec * S, cpuUser: c, cpuSystem: c / 10, ioRead: 100 * c, ioWrite: 10 * c, memCurrent: m, memPeak: peak };
}

function input(series: Series[], over = { from: T0, to: T0 + 3 * H }, by: 'hour' | 'day' = 'hour'): RollupInput {
  const ticks = new Map<string, Set<number>>();
  for (const s of series) for (const x of s.samples) (ticks.get(s.host) ?? ticks.set(s.host, new Set()).get(s.host)!).add(x.t);
  return {
    series,
    ticks: [...ticks].map(([host, t]) => ({ host, ticks: [...t].sort((a, b) => a - b) })),
    periods: periodsBetween(over.from, over.to, by, 'UTC'),
    since: over.from,
    until: over.to,
    gapMs: 30 * S,
  };
}

const web = (samples: Sample[], host = 'h1'): Series => ({ host, kind: 'subhost', name: 'web', samples });

/** Samples every 10 s from `from` to `to` (seconds after T0), the counter growing by `rate` per second. */
function steady(from: number, to: number, rate: number, base = 0, mem: (s: number) => number = () => 1000): Sample[] {
  const out: Sample[] = [];
  for (let s = from; s <= to; s += 10) out.push(at(s, base + (s - from) * rate, mem(s)));
  return out;
}

describe('rollUp', () => {
  it('sums exact deltas per period; the interval across a boundary goes to the later sample', () => {
    const r = rollUp(input([web(steady(3500, 3700, 1))]));
    expect(r.rows.map((x) => [x.period.label, x.usage.cpuUserSeconds, x.usage.runningSeconds])).toEqual([
      ['2026-12-01 00:00', 90, 100], // deltas observed at 3510..3590; running 3500..3600
      ['2026-12-01 01:00', 110, 100], // 3590..3600 observed at 3600, then ten more
    ]);
    // Running time is split at the boundary: 3590..3600 belongs to the first hour.
    const [first, second] = r.rows;
    expect(first.usage.runningSeconds + second.usage.runningSeconds).toBe(200);
    expect(first.usage.cpuUserSeconds! + second.usage.cpuUserSeconds!).toBe(200); // last - first, nothing more
    expect(second.usage.ioReadBytes).toBe(11000);
    expect(second.usage.cpuSystemSeconds).toBeCloseTo(11);
  });

  it('never extrapolates: one sample gives its memory but no CPU and no running time', () => {
    const r = rollUp(input([web([at(100, 50, 4096)])]));
    expect(r.rows).toHaveLength(1);
    expect(r.rows[0].usage).toMatchObject({ cpuUserSeconds: null, runningSeconds: 0, memPeakBytes: 4096 });
    expect(memoryAverage(r.rows[0].usage)).toBe(4096);
  });

  it('a counter that goes back starts a new run: its new count, never a negative', () => {
    // Runs to 500 s of CPU, reboots between 1000 and 1010 s, the new run has 3 s at 1010.
    const samples = [...steady(0, 1000, 0.5), at(1010, 3), at(1020, 8)];
    const r = rollUp(input([web(samples)]));
    expect(r.rows).toHaveLength(1);
    expect(r.rows[0].usage.cpuUserSeconds).toBe(500 + 3 + 5);
    expect(r.rows[0].usage.restarts).toBe(1);
    expect(r.rows[0].usage.ioWriteBytes).toBe(5080);
  });

  it('the memory high-water mark also marks a restart, and a rise of it is the peak of that interval', () => {
    const samples = [at(0, 10, 100, 900), at(10, 11, 100, 5000), at(20, 12, 100, 800)];
    const r = rollUp(input([web(samples)]));
    expect(r.rows[0].usage.restarts).toBe(1);
    expect(r.rows[0].usage.memPeakBytes).toBe(5000); // risen between 0 and 10 s; 900 was before the report
    expect(r.rows[0].usage.cpuUserSeconds).toBe(1 + 12);
  });

  it('a gap (daemon stopped) is shown as such: not covered, not running, its usage kept apart', () => {
    // Sampled 0..1800 s, nothing from 1800 to 5400 s, then again to 7190 s.
    const samples = [...steady(0, 1800, 1), ...steady(5400, 7190, 1, 4000)];
    const r = rollUp(input([web(samples)]));
    const hours = r.hosts.map((h) => [h.period.label, h.coveredSeconds, h.notCoveredSeconds]);
    expect(hours).toEqual([
      ['2026-12-01 00:00', 1800, 1800],
      ['2026-12-01 01:00', 1790, 1810],
      ['2026-12-01 02:00', 0, 3600],
    ]);
    expect(r.rows.map((x) => [x.period.label, x.usage.cpuUserSeconds, x.usage.runningSeconds])).toEqual([
      ['2026-12-01 00:00', 1800, 1800],
      ['2026-12-01 01:00', 1790, 1790],
    ]);
    expect(r.gaps).toHaveLength(1);
    expect(r.gaps[0]).toMatchObject({ host: 'h1', start: T0 + 1800 * S, end: T0 + 5400 * S });
    expect(r.gaps[0].usage[0].usage.cpuUserSeconds).toBe(4000 - 1800); // happened in the gap, somewhere
  });

  it('a subhost rebooted while the daemon watched: the new run counts from its first sample', () => {
    // web stops at 100 s; other keeps the daemon sampling; web is back at 200 s with a fresh cgroup.
    const other: Series = { host: 'h1', kind: 'vm', name: 'vm1', samples: steady(0, 300, 0) };
    const r = rollUp(input([web([...steady(0, 100, 1, 50), at(200, 7), at(210, 9)]), other]));
    const w = r.rows.find((x) => x.name === 'web')!;
    expect(w.usage.cpuUserSeconds).toBe(100 + 7 + 2);
    expect(w.usage.runningSeconds).toBe(100 + 10);
    expect(r.gaps).toEqual([]);
    expect(r.hosts[0].coveredSeconds).toBe(300);
  });

  it('keeps hosts apart and clips the first and last period to --since/--until', () => {
    const r = rollUp(input([web(steady(0, 600, 1)), web(steady(0, 600, 2), 'h2')], { from: T0 + 300 * S, to: T0 + 500 * S }));
    expect(r.rows.map((x) => [x.host, x.usage.cpuUserSeconds, x.usage.runningSeconds])).toEqual([
      ['h1', 200, 200],
      ['h2', 400, 200],
    ]);
    expect(r.hosts.map((h) => [h.host, h.coveredSeconds, h.notCoveredSeconds])).toEqual([
      ['h1', 200, 0],
      ['h2', 200, 0],
    ]);
  });

  it('averages memory over the samples of the period', () => {
    const r = rollUp(input([web(steady(0, 30, 1, 0, (s) => 1000 + s))]));
    expect(memoryAverage(r.rows[0].usage)).toBe(1015);
    expect(r.rows[0].usage.memPeakBytes).toBe(1030);
  });

  it('a figure the host does not give stays null, not 0', () => {
    const noIo = (s: Sample): Sample => ({ ...s, ioRead: null, ioWrite: null });
    const r = rollUp(input([web(steady(0, 30, 1).map(noIo))]));
    expect(r.rows[0].usage.ioReadBytes).toBeNull();
    expect(r.rows[0].usage.cpuUserSeconds).toBe(30);
  });

  it('roll-up hours before rawSince and raw samples after it: nothing counted twice', () => {
    const hourUsage = { cpuUserSeconds: 3000, cpuSystemSeconds: 300, ioReadBytes: 1, ioWriteBytes: 1, memSum: 3600, memCount: 360, memPeakBytes: 2000, runningSeconds: 3600, restarts: 0 };
    const r = rollUp({
      ...input([web(steady(3500, 3700, 1))]),
      buckets: [{ host: 'h1', kind: 'subhost', name: 'web', start: T0, usage: hourUsage }],
      rawSince: T0 + H,
    });
    expect(r.rows.map((x) => [x.period.label, x.usage.cpuUserSeconds, x.usage.runningSeconds])).toEqual([
      ['2026-12-01 00:00', 3000, 3600], // the hour's roll-up only: the raw samples before 01:00 are baselines
      ['2026-12-01 01:00', 110, 100],
    ]);
    expect(r.hosts.map((h) => [h.period.label, h.coveredSeconds])).toEqual([
      ['2026-12-01 00:00', 3600],
      ['2026-12-01 01:00', 100],
      ['2026-12-01 02:00', 0],
    ]);
  });

  it('an empty history is an empty report', () => {
    expect(rollUp(input([]))).toEqual({ rows: [], hosts: [], gaps: [] });
  });
});
