import { periodsBetween, type Period, type PeriodKind } from './calendar';
import { gapLimitMs, rollUp } from './rollup';
import type { Bucket, HostCover, HostTicks, Report, Series } from './types';

/** What a history source gives for a range: the samples, when each host sampled, and how often. */
export interface History {
  series: Series[];
  /** Hours summed beforehand (the local roll-ups), for the time before rawSince: one hour each, or all of a series' hours of one period. */
  buckets?: Bucket[];
  /** With period-summed buckets: each host's covered seconds per period (its hours' covered time, see rollup.ts). */
  cover?: HostCover[];
  /** Where the raw samples take over from the buckets (default: the report's since). */
  rawSince?: number;
  /** When absent, a host's ticks are the times of its samples. */
  ticks?: HostTicks[];
}

export interface HistoryQuery {
  /** The report's start. */
  since: number;
  /** Samples from a little before `since`, so that the first interval in range has its start. */
  from: number;
  until: number;
  names: string[];
  /** The report's periods: a source may sum its roll-ups per period (one bucket per series and period). */
  periods: Period[];
}

/** The local database or a Prometheus server. */
export interface HistorySource {
  /** How often the history was sampled (ms): a few missed samples make a gap. */
  intervalMs(): Promise<number>;
  load(q: HistoryQuery): Promise<History>;
  close?(): void;
}

export interface ReportOptions {
  since: number;
  until: number;
  by: PeriodKind;
  timeZone: string;
  names: string[];
}

/** Sample times per host, a tick being samples less than a second apart. */
export function ticksFromSeries(series: Series[]): HostTicks[] {
  const byHost = new Map<string, number[]>();
  for (const s of series) {
    const t = byHost.get(s.host) ?? byHost.set(s.host, []).get(s.host)!;
    for (const x of s.samples) t.push(x.t);
  }
  return [...byHost].map(([host, all]) => {
    all.sort((a, b) => a - b);
    const ticks: number[] = [];
    for (const t of all) if (ticks.length === 0 || t - ticks[ticks.length - 1] >= 1000) ticks.push(t);
    return { host, ticks };
  });
}

export async function buildReport(source: HistorySource, o: ReportOptions): Promise<Report> {
  const gapMs = gapLimitMs(await source.intervalMs());
  // The interval that ends at the first sample in range started before it: load that much more.
  const periods = periodsBetween(o.since, o.until, o.by, o.timeZone);
  const h = await source.load({ since: o.since, from: o.since - gapMs, until: o.until, names: o.names, periods });
  const out = rollUp({ series: h.series, buckets: h.buckets, cover: h.cover, rawSince: h.rawSince, ticks: h.ticks ?? ticksFromSeries(h.series), periods, since: o.since, until: o.until, gapMs });
  return { by: o.by, timeZone: o.timeZone, since: o.since, until: o.until, periods, ...out };
}
