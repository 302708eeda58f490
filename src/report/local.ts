import { existsSync } from 'node:fs';
import { HistoryStore } from '../history/store';
import type { History, HistoryQuery, HistorySource } from './build';
import type { Bucket, Kind, Sample, Series } from './types';

/** Up to this many raw samples the report reads them all (exact to the sample); beyond, whole hours come from the roll-ups. */
export const RAW_LIMIT = 500_000;
const HOUR = 3600_000;

const FILTER = (names: string[]) => (names.length ? ` AND se.name IN (${names.map(() => '?').join(',')})` : '');

/**
 * The local history database (`subhost daemon --db`): raw samples where they are kept (7 days),
 * the daemon's hourly roll-ups before that. Opened read-only, so a running daemon is undisturbed.
 */
export class LocalSource implements HistorySource {
  private store?: HistoryStore;
  private interval?: number;

  constructor(private readonly path: string) {}

  /** A database not made yet is an empty history, not an error. */
  private open(): HistoryStore | undefined {
    if (!this.store && existsSync(this.path)) this.store = HistoryStore.open(this.path, { readOnly: true });
    return this.store;
  }

  /** The median spacing of the newest samples of one series: the daemon's --interval (found once; load() needs it too). */
  async intervalMs(): Promise<number> {
    this.interval ??= this.findInterval();
    return this.interval;
  }

  private findInterval(): number {
    const db = this.open()?.db;
    if (!db) return 10_000;
    const sid = db.prepare('SELECT series_id FROM samples ORDER BY t_ms DESC LIMIT 1').pluck().get() as number | undefined;
    if (sid === undefined) return 10_000;
    const ts = db.prepare('SELECT t_ms FROM samples WHERE series_id = ? ORDER BY t_ms DESC LIMIT 41').pluck().all(sid) as number[];
    const steps = ts.slice(1).map((t, i) => ts[i] - t).sort((a, b) => a - b);
    return steps.length ? Math.max(1, steps[steps.length >> 1]) : 10_000;
  }

  async load(q: HistoryQuery): Promise<History> {
    const db = this.open()?.db;
    if (!db) return { series: [] };
    const oldestRaw = (db.prepare('SELECT min(t_ms) FROM samples').pluck().get() as number | null) ?? q.until;
    const nSeries = db.prepare('SELECT count(*) FROM series').pluck().get() as number;
    const interval = await this.intervalMs();
    const estimate = (nSeries * Math.max(0, q.until - Math.max(q.from, oldestRaw))) / interval;
    // Raw from the first whole hour of raw samples (that hour's roll-up holds the ones before),
    // or, over a long range, only for the hour in progress.
    const rawSince = Math.max(q.since, estimate <= RAW_LIMIT ? (oldestRaw <= q.since ? q.since : Math.ceil(oldestRaw / HOUR) * HOUR) : Math.floor(q.until / HOUR) * HOUR);
    const rawFrom = Math.max(q.from, rawSince - (q.since - q.from));
    const series: Series[] = [];
    // Columns by position (raw rows): 6 million samples read as arrays, not objects.
    const rows = db
      .prepare(
        `SELECT s.series_id, se.host, se.kind, se.name, s.t_ms, s.cpu_user_seconds, s.cpu_system_seconds, s.io_read_bytes, s.io_write_bytes, s.memory_current_bytes, s.memory_peak_bytes
         FROM samples s JOIN series se ON se.id = s.series_id WHERE s.t_ms >= ? AND s.t_ms < ?${FILTER(q.names)} ORDER BY s.series_id, s.t_ms`,
      )
      .raw()
      .iterate(rawFrom, q.until, ...q.names) as IterableIterator<[number, string, Kind, string, number, ...(number | null)[]]>;
    let cur: Series | undefined;
    let curId = -1;
    for (const r of rows) {
      if (r[0] !== curId) {
        curId = r[0];
        series.push((cur = { host: r[1], kind: r[2], name: r[3], samples: [] }));
      }
      const s: Sample = { t: r[4], cpuUser: r[5], cpuSystem: r[6], ioRead: r[7], ioWrite: r[8], memCurrent: r[9], memPeak: r[10] };
      cur!.samples.push(s);
    }
    return { series, rawSince, buckets: q.since < rawSince ? this.hours(q, rawSince) : [] };
  }

  /** Hourly roll-ups of the hours (or their part) in [since, rawSince). */
  private hours(q: HistoryQuery, rawSince: number): Bucket[] {
    const rows = this.store!.db.prepare(
      `SELECT se.host, se.kind, se.name, r.period_start, r.covered_seconds, r.cpu_user_seconds, r.cpu_system_seconds, r.io_read_bytes, r.io_write_bytes,
              r.memory_samples, r.memory_avg_bytes, r.memory_peak_bytes
       FROM hourly r JOIN series se ON se.id = r.series_id WHERE r.period_start * 1000 + 3600000 > ? AND r.period_start * 1000 < ?${FILTER(q.names)}`,
    )
      .raw()
      .all(q.since, rawSince, ...q.names) as [string, Kind, string, number, number, number, number, number, number, number, number | null, number | null][];
    return rows.map(([host, kind, name, start, covered, cu, cs, ir, iw, ms, avg, peak]) => ({
      host,
      kind,
      name,
      start: start * 1000,
      usage: { cpuUserSeconds: cu, cpuSystemSeconds: cs, ioReadBytes: ir, ioWriteBytes: iw, memSum: (avg ?? 0) * ms, memCount: avg === null ? 0 : ms, memPeakBytes: peak, runningSeconds: covered, restarts: 0 },
    }));
  }

  close(): void {
    this.store?.close();
  }
}
