import { existsSync } from 'node:fs';
import { HistoryStore, type SeriesKey } from '../history/store';
import type { History, HistoryQuery, HistorySource } from './build';
import { FILTER, HOUR, hourlySums } from './local-hourly';
import type { Kind, Sample, Series } from './types';

/** Up to this many raw samples the report reads them all (exact to the sample); beyond, whole hours come from the roll-ups. */
export const RAW_LIMIT = 500_000;

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
    return { series, rawSince, ...hourlySums(db, q, rawSince, keys) };
  }

  close(): void {
    this.store?.close();
  }
}
