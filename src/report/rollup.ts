import { gapLimitSeconds } from '../history/rollup';
import type { Period } from './calendar';
import type { Bucket, Gap, HostCover, HostPeriod, HostTicks, Kind, ReportRow, Series, Usage } from './types';
import { addCounterDeltas, addMemorySample, addUsage, emptyUsage, isRestart } from './usage-sum';

export interface RollupInput {
  series: Series[];
  /** Hours summed beforehand, for times before the raw samples (they cover what their running time says). */
  buckets?: Bucket[];
  /** Covered seconds per host from period-summed buckets; without it, from the (hourly) buckets. */
  cover?: HostCover[];
  ticks: HostTicks[];
  /** Contiguous, in order; together they span [since, until). */
  periods: Period[];
  since: number;
  until: number;
  /** Raw samples count from here on (default since); before it, only buckets (samples there are baselines). */
  rawSince?: number;
  /** Two samples further apart than this have a gap between them: nothing is known of it. */
  gapMs: number;
}

export interface RollupOutput {
  rows: ReportRow[];
  hosts: HostPeriod[];
  gaps: Gap[];
}

/** Index of the period that holds t, or -1 outside them all. */
export function periodIndex(periods: Period[], t: number): number {
  let lo = 0;
  let hi = periods.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (t < periods[mid].start) hi = mid - 1;
    else if (t >= periods[mid].end) lo = mid + 1;
    else return mid;
  }
  return -1;
}

/** Adds the part of [a, b] inside each period (and inside [since, until)) to add(i, seconds): time is split exactly, never counters. */
function splitTime(periods: Period[], a: number, b: number, add: (i: number, seconds: number) => void): void {
  let i = periodIndex(periods, Math.max(a, periods[0]?.start ?? a));
  if (i < 0) return;
  for (; i < periods.length && periods[i].start < b; i++) {
    const lo = Math.max(a, periods[i].start);
    const hi = Math.min(b, periods[i].end);
    if (hi > lo) add(i, (hi - lo) / 1000);
  }
}

/**
 * The period an hour's roll-up that starts at `start` goes to: the one that holds its start, or the
 * first when it began before since; -1 when it is not before rawSince (raw samples count there).
 */
export function hourPeriod(periods: Period[], since: number, rawSince: number, start: number): number {
  return start + 3600_000 > since && start < rawSince ? periodIndex(periods, Math.max(start, since)) : -1;
}

/** Periods clipped to [since, until): the first and last may be partial. */
function clip(periods: Period[], since: number, until: number): Period[] {
  return periods.map((p) => ({ ...p, start: Math.max(p.start, since), end: Math.min(p.end, until) }));
}

/**
 * The report's arithmetic. Counter growth between two samples goes to the period of the later
 * sample (it was observed then; spreading it would invent a distribution). Running and covered
 * time is split at period boundaries. Growth across a gap goes to the gap, not to any period.
 */
export function rollUp(input: RollupInput): RollupOutput {
  const periods = clip(input.periods, input.since, input.until);
  const rawSince = Math.max(input.rawSince ?? input.since, input.since);
  const rawPeriods = clip(input.periods, rawSince, input.until);
  const { gapMs } = input;
  const gaps = new Map<string, Gap>();
  const gapOf = (host: string, start: number, end: number) => {
    const key = `${host} ${start} ${end}`;
    let g = gaps.get(key);
    if (!g) gaps.set(key, (g = { host, start, end, usage: [] }));
    return g;
  };
  const inRange = (t: number) => t >= rawSince && t < input.until;
  // A bucket (an hour) goes to the period that holds its start, or the first period when it began before since.
  const bucketPeriod = (start: number) => hourPeriod(periods, input.since, rawSince, start);

  // What each host's daemon covered: tick to tick, when they are close enough.
  const hosts: HostPeriod[] = [];
  const tickIndex = new Map<string, number[]>();
  const hourCover = new Map<string, number>();
  for (const h of hostsOf(input)) {
    tickIndex.set(h.host, h.ticks);
    const covered = periods.map(() => 0);
    for (let i = 1; i < h.ticks.length; i++) {
      const a = h.ticks[i - 1];
      const b = h.ticks[i];
      if (b - a <= gapMs) splitTime(rawPeriods, a, b, (p, s) => (covered[p] += s));
      else if (b > rawSince && a < input.until) gapOf(h.host, a, b);
    }
    for (const c of input.cover ?? []) {
      const i = c.host === h.host ? bucketPeriod(c.start) : -1;
      if (i >= 0) covered[i] += c.seconds;
    }
    for (const b of input.cover ? [] : (input.buckets ?? [])) {
      // A host's hour is covered as long as its longest-running series ran in it.
      const i = b.host === h.host ? bucketPeriod(b.start) : -1;
      if (i >= 0) hourCover.set(`${i} ${b.start}`, Math.max(hourCover.get(`${i} ${b.start}`) ?? 0, b.usage.runningSeconds));
    }
    for (const [k, sec] of hourCover) covered[Number(k.split(' ')[0])] += sec;
    hourCover.clear();
    periods.forEach((p, i) => {
      const span = Math.max(0, p.end - p.start) / 1000;
      if (span > 0) hosts.push({ period: input.periods[i], host: h.host, coveredSeconds: covered[i], notCoveredSeconds: Math.max(0, span - covered[i]) });
    });
  }

  const rows: ReportRow[] = [];
  const fromBuckets = new Map<string, { b: Bucket; usage: (Usage | undefined)[] }>();
  for (const b of input.buckets ?? []) {
    const i = bucketPeriod(b.start);
    if (i < 0) continue;
    const key = `${b.host}\0${b.kind}\0${b.name}`;
    const e = fromBuckets.get(key) ?? fromBuckets.set(key, { b, usage: [] }).get(key)!;
    addUsage((e.usage[i] ??= emptyUsage()), b.usage);
  }
  for (const s of input.series) {
    const usage: (Usage | undefined)[] = [];
    const at = (i: number) => (usage[i] ??= emptyUsage());
    const { samples } = s;
    for (let i = 0; i < samples.length; i++) {
      const cur = samples[i];
      const p = inRange(cur.t) ? periodIndex(periods, cur.t) : -1;
      if (p >= 0) addMemorySample(at(p), cur);
      if (i === 0) continue;
      const prev = samples[i - 1];
      const restart = isRestart(prev, cur);
      if (cur.t - prev.t <= gapMs) {
        if (p >= 0) {
          addCounterDeltas(at(p), prev, cur, restart);
          if (restart) at(p).restarts += 1;
        }
        splitTime(rawPeriods, prev.t, cur.t, (q, sec) => (at(q).runningSeconds += sec));
      } else if (restart && hostCoveredBefore(tickIndex.get(s.host), cur.t, gapMs)) {
        // Made again while the daemon watched: the new cgroup's counts all came after its last tick.
        if (p >= 0) {
          addCounterDeltas(at(p), prev, cur, true);
          at(p).restarts += 1;
        }
      } else if (cur.t > rawSince && prev.t < input.until) {
        const u = emptyUsage();
        addCounterDeltas(u, prev, cur, restart);
        u.memPeakBytes = null; // when in the gap is unknown; the rows' peaks are what was seen
        if (restart) u.restarts = 1;
        gapOf(s.host, prev.t, cur.t).usage.push({ kind: s.kind, name: s.name, usage: u });
      }
    }
    const pre = fromBuckets.get(`${s.host}\0${s.kind}\0${s.name}`);
    if (pre) {
      pre.usage.forEach((u, i) => u && addUsage(at(i), u));
      fromBuckets.delete(`${s.host}\0${s.kind}\0${s.name}`);
    }
    usage.forEach((u, i) => {
      if (u) rows.push({ period: input.periods[i], host: s.host, kind: s.kind, name: s.name, usage: u });
    });
  }
  for (const { b, usage } of fromBuckets.values())
    usage.forEach((u, i) => {
      if (u) rows.push({ period: input.periods[i], host: b.host, kind: b.kind, name: b.name, usage: u });
    });
  rows.sort((a, b) => a.period.start - b.period.start || cmp(a.host, b.host) || cmp(a.kind, b.kind) || cmp(a.name, b.name));
  hosts.sort((a, b) => a.period.start - b.period.start || cmp(a.host, b.host));
  return { rows, hosts, gaps: [...gaps.values()].sort((a, b) => a.start - b.start || cmp(a.host, b.host)) };
}

/** Every host with ticks, and those known only from roll-ups. */
function hostsOf(input: RollupInput): HostTicks[] {
  const known = new Set(input.ticks.map((h) => h.host));
  const extra = [...new Set((input.buckets ?? []).map((b) => b.host))].filter((h) => !known.has(h));
  return [...input.ticks, ...extra.map((host) => ({ host, ticks: [] }))];
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The host's daemon took a sample shortly before t (within the gap limit), so it was watching. */
function hostCoveredBefore(ticks: number[] | undefined, t: number, gapMs: number): boolean {
  if (!ticks) return false;
  let lo = 0;
  let hi = ticks.length - 1;
  let best = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (ticks[mid] < t) {
      best = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return best >= 0 && t - ticks[best] <= gapMs;
}

/** The gap limit from the sampling interval (ms): the daemon's rule for its roll-ups. */
export function gapLimitMs(intervalMs: number): number {
  return Math.round(gapLimitSeconds(intervalMs / 1000) * 1000);
}

export type { Kind };
