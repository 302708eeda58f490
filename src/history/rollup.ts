/** Pure logic of the roll-ups: what one sample adds to its hour and its day. */

/** One raw sample of one series, as stored (counters as the kernel printed them). */
export interface RawSample {
  tMs: number;
  cpuUserSeconds: number | null;
  cpuSystemSeconds: number | null;
  memoryCurrentBytes: number | null;
  memoryPeakBytes: number | null;
  ioReadBytes: number | null;
  ioWriteBytes: number | null;
  tasks: number | null;
}

/** What the time from the previous sample to this one adds to the period this sample falls in. */
export interface Increment {
  coveredSeconds: number;
  cpuUserSeconds: number;
  cpuSystemSeconds: number;
  ioReadBytes: number;
  ioWriteBytes: number;
  memoryBytes: number | null;
  memoryPeakBytes: number | null;
  tasks: number | null;
}

export const HOUR = 3600;
export const DAY = 86400;

/**
 * The longest time between two samples that is still time seen running, from the sampling
 * interval: a few missed samples are a gap (the daemon was down), one late sample is not (a loaded
 * host samples late, not never). The rule of the daemon's roll-ups and of the report.
 */
export function gapLimitSeconds(intervalSeconds: number): number {
  return Math.max(5 * intervalSeconds, 60);
}

/** A raw sample's counters, and memory.peak (the cgroup's high-water mark): what goes back when the cgroup is made anew. */
const RESET_FIELDS = ['cpuUserSeconds', 'cpuSystemSeconds', 'ioReadBytes', 'ioWriteBytes', 'memoryPeakBytes'] as const;

/**
 * The cgroup was made anew between two samples (a reboot, a VM restart): one of `fields` went
 * back. Then every counter started again at 0, also one that happens to be higher than before.
 * The one rule of the history's roll-ups and of the report (src/report/usage-sum.ts).
 */
export function wentBack<T>(prev: T, cur: T, fields: readonly (keyof T)[]): boolean {
  for (const k of fields) {
    const a = prev[k] as number | null;
    const b = cur[k] as number | null;
    if (a !== null && b !== null && b < a) return true;
  }
  return false;
}

/**
 * Growth of a counter from prev to cur: after a reset, all of cur (a new run started at 0);
 * null when the host did not give it at either end (a series' first sample is only a baseline).
 */
export function counterGrowth(prev: number | null | undefined, cur: number | null, reset: boolean): number | null {
  if (cur === null) return null;
  if (reset) return cur;
  if (prev === null || prev === undefined) return null;
  return cur - prev;
}

/**
 * Growth of a counter, 0 when unknown: never negative. `reset` defaults to this counter having
 * gone back; increment() passes whether any counter of the sample did.
 */
export function counterDelta(prev: number | null | undefined, cur: number | null, reset = prev !== null && prev !== undefined && cur !== null && cur < prev): number {
  return counterGrowth(prev, cur, reset) ?? 0;
}

/**
 * The increment of `cur` over `prev` (undefined: first sample of a series, only a baseline).
 * Covered seconds count only gaps up to maxGapSeconds: a longer gap (daemon down) is not time
 * seen running, but the counters' growth over it is still counted.
 */
export function increment(prev: RawSample | undefined, cur: RawSample, maxGapSeconds: number): Increment {
  const gap = prev ? (cur.tMs - prev.tMs) / 1000 : 0;
  // A reset of any counter means a new run: the old run's values say nothing about this one.
  const reset = prev !== undefined && wentBack(prev, cur, RESET_FIELDS);
  return {
    coveredSeconds: prev && gap > 0 && gap <= maxGapSeconds ? gap : 0,
    cpuUserSeconds: counterDelta(prev?.cpuUserSeconds, cur.cpuUserSeconds, reset),
    cpuSystemSeconds: counterDelta(prev?.cpuSystemSeconds, cur.cpuSystemSeconds, reset),
    ioReadBytes: counterDelta(prev?.ioReadBytes, cur.ioReadBytes, reset),
    ioWriteBytes: counterDelta(prev?.ioWriteBytes, cur.ioWriteBytes, reset),
    memoryBytes: cur.memoryCurrentBytes,
    // memory.peak is the cgroup's lifetime peak: a period's peak is the most seen in its samples.
    memoryPeakBytes: cur.memoryCurrentBytes,
    tasks: cur.tasks,
  };
}

/** Start (unix seconds, UTC) of the period of `periodSeconds` that tMs falls in. */
export function periodStart(tMs: number, periodSeconds: number): number {
  const s = Math.floor(tMs / 1000);
  return s - (s % periodSeconds);
}

/** One period's totals (a row of hourly/daily, or a bucket of a raw query). */
export interface Bucket {
  start: number;
  samples: number;
  coveredSeconds: number;
  cpuUserSeconds: number;
  cpuSystemSeconds: number;
  ioReadBytes: number;
  ioWriteBytes: number;
  memorySamples: number;
  memoryAvgBytes: number | null;
  memoryPeakBytes: number | null;
  tasksMax: number | null;
}

export function emptyBucket(start: number): Bucket {
  return { start, samples: 0, coveredSeconds: 0, cpuUserSeconds: 0, cpuSystemSeconds: 0, ioReadBytes: 0, ioWriteBytes: 0, memorySamples: 0, memoryAvgBytes: null, memoryPeakBytes: null, tasksMax: null };
}

const maxOf = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.max(a, b));

/** Add one increment to a bucket (the same arithmetic as the SQL upsert in store.ts). */
export function addTo(b: Bucket, inc: Increment): void {
  b.samples += 1;
  b.coveredSeconds += inc.coveredSeconds;
  b.cpuUserSeconds += inc.cpuUserSeconds;
  b.cpuSystemSeconds += inc.cpuSystemSeconds;
  b.ioReadBytes += inc.ioReadBytes;
  b.ioWriteBytes += inc.ioWriteBytes;
  if (inc.memoryBytes !== null) {
    b.memoryAvgBytes = ((b.memoryAvgBytes ?? 0) * b.memorySamples + inc.memoryBytes) / (b.memorySamples + 1);
    b.memorySamples += 1;
  }
  b.memoryPeakBytes = maxOf(b.memoryPeakBytes, inc.memoryPeakBytes);
  b.tasksMax = maxOf(b.tasksMax, inc.tasks);
}

/** Merge finer buckets into one (hours into a step of several hours). */
export function mergeInto(b: Bucket, o: Bucket): void {
  b.samples += o.samples;
  b.coveredSeconds += o.coveredSeconds;
  b.cpuUserSeconds += o.cpuUserSeconds;
  b.cpuSystemSeconds += o.cpuSystemSeconds;
  b.ioReadBytes += o.ioReadBytes;
  b.ioWriteBytes += o.ioWriteBytes;
  if (o.memoryAvgBytes !== null && o.memorySamples > 0) {
    b.memoryAvgBytes = ((b.memoryAvgBytes ?? 0) * b.memorySamples + o.memoryAvgBytes * o.memorySamples) / (b.memorySamples + o.memorySamples);
    b.memorySamples += o.memorySamples;
  }
  b.memoryPeakBytes = maxOf(b.memoryPeakBytes, o.memoryPeakBytes);
  b.tasksMax = maxOf(b.tasksMax, o.tasksMax);
}
