import type Database from 'better-sqlite3';
import { addTo, DAY, emptyBucket, HOUR, increment, mergeInto, periodStart, type Bucket } from './rollup';
import { RETENTION } from './retention';
import { rowToBucket, rowToSample } from './rows';
import type { SeriesKey } from './store';

export interface HistoryQuery {
  name?: string;
  kind?: 'subhost' | 'vm';
  host?: string;
  /** From (inclusive), unix ms. */
  sinceMs: number;
  /** To (exclusive), unix ms; default now. */
  untilMs?: number;
  /** Bucket width in seconds; buckets start at multiples of it (UTC). */
  stepSeconds: number;
}

export type HistorySource = 'samples' | 'hourly' | 'daily';

export interface SeriesHistory extends SeriesKey {
  stepSeconds: number;
  /** The table the buckets were made from. */
  source: HistorySource;
  /** Only buckets with samples, oldest first. */
  points: Bucket[];
}

/**
 * Which table answers: raw samples for steps under an hour or not whole hours; hourly for whole
 * hours (and whole days reaching no further back than the hourly retention); daily otherwise.
 */
export function sourceFor(q: HistoryQuery, nowMs: number): HistorySource {
  if (q.stepSeconds < HOUR || q.stepSeconds % HOUR) return 'samples';
  if (q.stepSeconds % DAY === 0 && q.sinceMs < nowMs - RETENTION.hourlyDays * DAY * 1000) return 'daily';
  return 'hourly';
}

const FILTER = `(@name IS NULL OR se.name = @name) AND (@kind IS NULL OR se.kind = @kind) AND (@host IS NULL OR se.host = @host)`;

function group(rows: any[], each: (s: SeriesKey, rows: any[]) => void): void {
  let start = 0;
  for (let i = 1; i <= rows.length; i++) {
    const a = rows[start];
    const b = rows[i];
    if (b && a.series_id === b.series_id) continue;
    each({ host: a.host, kind: a.kind, name: a.name }, rows.slice(start, i));
    start = i;
  }
}

/** Buckets of stepSeconds per series, from the table sourceFor picks. */
export function queryHistory(db: Database.Database, q: HistoryQuery, maxGapSeconds: number, nowMs = Date.now()): SeriesHistory[] {
  const until = q.untilMs ?? nowMs + 1;
  const params = { name: q.name ?? null, kind: q.kind ?? null, host: q.host ?? null, until };
  const source = sourceFor(q, nowMs);
  const out: SeriesHistory[] = [];
  const step = q.stepSeconds;
  if (source === 'samples') {
    // One sample before `since` is the base of the first increment in range.
    const rows = db
      .prepare(
        `SELECT se.host, se.kind, se.name, s.* FROM samples s JOIN series se ON se.id = s.series_id
         WHERE s.t_ms >= @from AND s.t_ms < @until AND ${FILTER} ORDER BY s.series_id, s.t_ms`,
      )
      .all({ ...params, from: q.sinceMs - maxGapSeconds * 1000 }) as any[];
    group(rows, (key, rs) => {
      const buckets = new Map<number, Bucket>();
      let prev;
      for (const r of rs) {
        const s = rowToSample(r);
        if (s.tMs >= q.sinceMs) {
          const start = periodStart(s.tMs, step);
          let b = buckets.get(start);
          if (!b) buckets.set(start, (b = emptyBucket(start)));
          addTo(b, increment(prev, s, maxGapSeconds));
        }
        prev = s;
      }
      if (buckets.size) out.push({ ...key, stepSeconds: step, source, points: [...buckets.values()] });
    });
    return out;
  }
  // Roll-up periods that start in [since, until), merged into steps.
  const rows = db
    .prepare(
      `SELECT se.host, se.kind, se.name, r.* FROM ${source} r JOIN series se ON se.id = r.series_id
       WHERE r.period_start >= @from AND r.period_start * 1000 < @until AND ${FILTER} ORDER BY r.series_id, r.period_start`,
    )
    .all({ ...params, from: Math.floor(q.sinceMs / 1000) }) as any[];
  group(rows, (key, rs) => {
    const buckets = new Map<number, Bucket>();
    for (const r of rs) {
      const part = rowToBucket(r);
      const start = part.start - (part.start % step);
      let b = buckets.get(start);
      if (!b) buckets.set(start, (b = emptyBucket(start)));
      mergeInto(b, part);
    }
    out.push({ ...key, stepSeconds: step, source, points: [...buckets.values()] });
  });
  return out;
}
