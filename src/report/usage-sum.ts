import { counterGrowth, wentBack } from '../history/rollup';
import type { Sample, Usage } from './types';

export function emptyUsage(): Usage {
  return { cpuUserSeconds: null, cpuSystemSeconds: null, ioReadBytes: null, ioWriteBytes: null, memSum: 0, memCount: 0, memPeakBytes: null, runningSeconds: 0, restarts: 0 };
}

/** null + x = x: a figure the host never gave stays null, one it gave once is a number. */
const plus = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : a + b);
const maxOf = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.max(a, b));

/** Adds b into a (a is changed). */
export function addUsage(a: Usage, b: Usage): Usage {
  a.cpuUserSeconds = plus(a.cpuUserSeconds, b.cpuUserSeconds);
  a.cpuSystemSeconds = plus(a.cpuSystemSeconds, b.cpuSystemSeconds);
  a.ioReadBytes = plus(a.ioReadBytes, b.ioReadBytes);
  a.ioWriteBytes = plus(a.ioWriteBytes, b.ioWriteBytes);
  a.memSum += b.memSum;
  a.memCount += b.memCount;
  a.memPeakBytes = maxOf(a.memPeakBytes, b.memPeakBytes);
  a.runningSeconds += b.runningSeconds;
  a.restarts += b.restarts;
  return a;
}

export function memoryAverage(u: Usage): number | null {
  return u.memCount ? u.memSum / u.memCount : null;
}

const RESET_FIELDS = ['cpuUser', 'cpuSystem', 'ioRead', 'ioWrite', 'memPeak'] as const;

/** A counter (or the memory high-water mark) that went back: the cgroup was made again in between (the history's rule). */
export function isRestart(prev: Sample, cur: Sample): boolean {
  return wentBack(prev, cur, RESET_FIELDS);
}

/**
 * Adds what the counters grew by from prev to cur into u: the exact difference, or after a restart
 * the new cgroup's whole count (it started from 0). A figure missing at either end adds nothing.
 */
export function addCounterDeltas(u: Usage, prev: Sample, cur: Sample, restart: boolean): void {
  // Unrolled over the four counters: it runs for every raw sample in the report.
  let g = counterGrowth(prev.cpuUser, cur.cpuUser, restart);
  if (g !== null) u.cpuUserSeconds = (u.cpuUserSeconds ?? 0) + g;
  g = counterGrowth(prev.cpuSystem, cur.cpuSystem, restart);
  if (g !== null) u.cpuSystemSeconds = (u.cpuSystemSeconds ?? 0) + g;
  g = counterGrowth(prev.ioRead, cur.ioRead, restart);
  if (g !== null) u.ioReadBytes = (u.ioReadBytes ?? 0) + g;
  g = counterGrowth(prev.ioWrite, cur.ioWrite, restart);
  if (g !== null) u.ioWriteBytes = (u.ioWriteBytes ?? 0) + g;
  // The high-water mark rose in this interval: memory reached exactly that much in it.
  if (cur.memPeak !== null && (restart || (prev.memPeak !== null && cur.memPeak > prev.memPeak))) u.memPeakBytes = maxOf(u.memPeakBytes, cur.memPeak);
}

/** A memory sample: counted in the average, and a lower bound of the peak. */
export function addMemorySample(u: Usage, s: Sample): void {
  if (s.memCurrent === null) return;
  u.memSum += s.memCurrent;
  u.memCount += 1;
  u.memPeakBytes = maxOf(u.memPeakBytes, s.memCurrent);
}
