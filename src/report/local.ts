import { existsSync } from 'node:fs';
import type Database from 'better-sqlite3';
import { HistoryStore, type SeriesKey } from '../history/store';
import type { History, HistoryQuery, HistorySource } from './build';
import { hourPeriod } from './rollup';
import { emptyUsage } from './usage-sum';
import type { Bucket, HostCover, Kind, Sample, Series } from './types';

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

  /** rawLimit: RAW_LIMIT, lower in tests to take the roll-up path. */
  constructor(
    private readonly path: string,
    private readonly rawLimit = RAW_LIMIT,
  ) {}

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
    const keys = new Map<number, SeriesKey>();
    for (const [id, host, kind, name] of db.prepare(`SELECT id, host, kind, name FROM series se WHERE 1${FILTER(q.names)}`).raw().iterate(...q.names) as IterableIterator<[number, string, Kind, string]>)
      keys.set(id, { host, kind, name });
    const interval = await this.intervalMs();
    const estimate = (keys.size * Math.max(0, q.until - Math.max(q.from, oldestRaw))) / interval;
    // Raw from the first whole hour of raw samples (that hour's roll-up holds the ones before),
    // or, over a long range, only for the hour in progress.
    const rawSince = Math.max(q.since, estimate <= this.rawLimit ? (oldestRaw <= q.since ? q.since : Math.ceil(oldestRaw / HOUR) * HOUR) : Math.floor(q.until / HOUR) * HOUR);
    const rawFrom = Math.max(q.from, rawSince - (q.since - q.from));
    const series: Series[] = [];
    // Series by series along the primary key (series_id, t_ms), not through the t_ms index (a
    // lookup per row); columns by position, the names once per series.
    const rows = db
      .prepare(
        `SELECT s.series_id, s.t_ms, s.cpu_user_seconds, s.cpu_system_seconds, s.io_read_bytes, s.io_write_bytes, s.memory_current_bytes, s.memory_peak_bytes
         FROM series se CROSS JOIN samples s ON s.series_id = se.id WHERE s.t_ms >= ? AND s.t_ms < ?${FILTER(q.names)} ORDER BY se.id, s.t_ms`,
      )
      .raw()
      .iterate(rawFrom, q.until, ...q.names) as IterableIterator<[number, number, ...(number | null)[]]>;
    let cur: Sample[] = [];
    let curId = -1;
    for (const r of rows) {
      if (r[0] !== curId) {
        curId = r[0];
        series.push({ ...keys.get(curId)!, samples: (cur = []) });
      }
      cur.push({ t: r[1], cpuUser: r[2], cpuSystem: r[3], ioRead: r[4], ioWrite: r[5], memCurrent: r[6], memPeak: r[7] });
    }
    if (q.since >= rawSince) return { series, rawSince, buckets: [] };
    return { series, rawSince, ...this.periodSums(db, q, rawSince, keys) };
  }

  /**
   * The hourly roll-ups of the hours (or their part) in [since, rawSince), summed per series and
   * report period as rollUp would (hourPeriod), and each host's covered time per period: the sum
   * over its hours of the longest-running series' covered seconds.
   */
  private periodSums(db: Database.Database, q: HistoryQuery, rawSince: number, keys: Map<number, SeriesKey>): { buckets: Bucket[]; cover: HostCover[] } {
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

  close(): void {
    this.store?.close();
  }
}
