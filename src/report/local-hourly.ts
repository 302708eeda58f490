import type Database from 'better-sqlite3';
import type { SeriesKey } from '../history/store';
import type { HistoryQuery } from './build';
import { hourPeriod } from './rollup';
import type { Bucket, HostCover } from './types';
import { emptyUsage } from './usage-sum';

export const HOUR = 3600_000;

export const FILTER = (names: string[]) => (names.length ? ` AND se.name IN (${names.map(() => '?').join(',')})` : '');

export interface HourlySums {
  buckets: Bucket[];
  cover: HostCover[];
}

/**
 * The hourly roll-ups of the hours (or their part) in [since, rawSince), summed per series and
 * report period as rollUp would (hourPeriod), and each host's covered time per period: the sum
 * over its hours of the longest-running series' covered seconds. Long periods are summed by SQLite
 * (handing a row to JS costs far more than summing it); periods of an hour or so are read row by row.
 */
export function hourlySums(db: Database.Database, q: HistoryQuery, rawSince: number, keys: Map<number, SeriesKey>): HourlySums {
  const spans = periodSpans(q, rawSince);
  const hours = (rawSince - q.since) / HOUR + 1;
  return spans.length * 4 <= hours ? summedBySql(db, q, spans, keys) : summedByRow(db, q, rawSince, keys);
}

/** Each period's hours in [since - 1 h, rawSince) as period_start bounds (unix s): [lo, hi), and the ms a bucket of it starts at. */
export function periodSpans(q: HistoryQuery, rawSince: number): { lo: number; hi: number; start: number }[] {
  const out = [];
  for (const p of q.periods) {
    if (p.start >= rawSince || p.end <= q.since) continue;
    // The hour that holds since began before it: it goes to the first period (hourPeriod's rule).
    const first = p.start <= q.since;
    out.push({ lo: first ? Math.floor((q.since - HOUR) / 1000) + 1 : Math.ceil(p.start / 1000), hi: Math.ceil(Math.min(p.end, rawSince) / 1000), start: first ? q.since : p.start });
  }
  return out;
}

const SUMS = `sum(r.covered_seconds), sum(r.cpu_user_seconds), sum(r.cpu_system_seconds), sum(r.io_read_bytes), sum(r.io_write_bytes),
  sum(CASE WHEN r.memory_avg_bytes IS NULL THEN 0 ELSE r.memory_samples END), sum(coalesce(r.memory_avg_bytes, 0) * r.memory_samples), max(r.memory_peak_bytes)`;

type SumRow = [number, number, number, number, number, number, number, number, number | null];

export function summedBySql(db: Database.Database, q: HistoryQuery, spans: { lo: number; hi: number; start: number }[], keys: Map<number, SeriesKey>): HourlySums {
  // Along the primary key (series_id, period_start): rows come grouped by series, no sorting.
  const sums = db
    .prepare(
      `SELECT se.id, ${SUMS} FROM series se CROSS JOIN hourly r ON r.series_id = se.id
       WHERE r.period_start >= ? AND r.period_start < ?${FILTER(q.names)} GROUP BY se.id ORDER BY se.id`,
    )
    .raw();
  const cover = db
    .prepare(
      `SELECT host, sum(m) FROM (SELECT se.host AS host, max(r.covered_seconds) AS m FROM series se CROSS JOIN hourly r ON r.series_id = se.id
       WHERE r.period_start >= ? AND r.period_start < ?${FILTER(q.names)} GROUP BY se.host, r.period_start) GROUP BY host`,
    )
    .raw();
  const out: HourlySums = { buckets: [], cover: [] };
  for (const { lo, hi, start } of spans) {
    for (const [id, covered, cu, cs, ir, iw, memCount, memSum, peak] of sums.all(lo, hi, ...q.names) as SumRow[]) {
      const key = keys.get(id)!;
      out.buckets.push({
        host: key.host,
        kind: key.kind,
        name: key.name,
        start,
        usage: { cpuUserSeconds: cu, cpuSystemSeconds: cs, ioReadBytes: ir, ioWriteBytes: iw, memSum, memCount, memPeakBytes: peak, runningSeconds: covered, restarts: 0 },
      });
    }
    for (const [host, seconds] of cover.all(lo, hi, ...q.names) as [string, number][]) if (seconds > 0) out.cover.push({ host, start, seconds });
  }
  return out;
}

export function summedByRow(db: Database.Database, q: HistoryQuery, rawSince: number, keys: Map<number, SeriesKey>): HourlySums {
  const rows = db
    .prepare(
      `SELECT r.series_id, r.period_start, r.covered_seconds, r.cpu_user_seconds, r.cpu_system_seconds, r.io_read_bytes, r.io_write_bytes,
              r.memory_samples, r.memory_avg_bytes, r.memory_peak_bytes
       FROM series se CROSS JOIN hourly r ON r.series_id = se.id WHERE r.period_start > ? AND r.period_start < ?${FILTER(q.names)} ORDER BY se.id, r.period_start`,
    )
    .raw()
    .iterate((q.since - HOUR) / 1000, rawSince / 1000, ...q.names) as IterableIterator<[number, number, number, number, number, number, number, number, number | null, number | null]>;
  const buckets: Bucket[] = [];
  const firstHour = Math.floor((q.since - HOUR) / HOUR) * HOUR;
  const hostHours = new Map<string, Float64Array>();
  const nHours = Math.ceil((rawSince - firstHour) / HOUR) + 1;
  let b: Bucket | undefined;
  let bId = -1;
  let bPeriod = -1;
  for (const [id, startS, covered, cu, cs, ir, iw, ms, avg, peak] of rows) {
    const start = startS * 1000;
    const p = hourPeriod(q.periods, q.since, rawSince, start);
    if (p < 0) continue;
    const key = keys.get(id)!;
    const hours = hostHours.get(key.host) ?? hostHours.set(key.host, new Float64Array(nHours)).get(key.host)!;
    const h = Math.floor((start - firstHour) / HOUR);
    if (covered > hours[h]) hours[h] = covered;
    if (!b || id !== bId || p !== bPeriod) {
      buckets.push((b = { host: key.host, kind: key.kind, name: key.name, start, usage: emptyUsage() }));
      bId = id;
      bPeriod = p;
    }
    const u = b.usage;
    u.cpuUserSeconds = (u.cpuUserSeconds ?? 0) + cu;
    u.cpuSystemSeconds = (u.cpuSystemSeconds ?? 0) + cs;
    u.ioReadBytes = (u.ioReadBytes ?? 0) + ir;
    u.ioWriteBytes = (u.ioWriteBytes ?? 0) + iw;
    if (avg !== null) {
      u.memSum += avg * ms;
      u.memCount += ms;
    }
    if (peak !== null && (u.memPeakBytes === null || peak > u.memPeakBytes)) u.memPeakBytes = peak;
    u.runningSeconds += covered;
  }
  const cover: HostCover[] = [];
  for (const [host, hours] of hostHours) {
    let c: HostCover | undefined;
    let cPeriod = -1;
    hours.forEach((seconds, h) => {
      const start = firstHour + h * HOUR;
      const p = seconds > 0 ? hourPeriod(q.periods, q.since, rawSince, start) : -1;
      if (p < 0) return;
      if (!c || p !== cPeriod) cover.push((c = { host, start, seconds: 0 }));
      cPeriod = p;
      c.seconds += seconds;
    });
  }
  return { buckets, cover };
}
