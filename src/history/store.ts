/**
 * The usage history: one SQLite database (WAL), written by `subhost daemon`, read by the daemon's
 * HTTP API, `subhost report` and the dashboard.
 *
 * Schema (version in PRAGMA user_version; migrations in schema.ts):
 *
 *  series   id, host, kind ('subhost' | 'vm'), name            one row per host/kind/name, UNIQUE
 *  samples  raw samples, kept 7 days; PRIMARY KEY (series_id, t_ms)
 *           t_ms                  when the usage was read, unix milliseconds (UTC)
 *           cpu_user_seconds      counter (cpu.stat user_usec / 1e6)
 *           cpu_system_seconds    counter
 *           memory_current_bytes  gauge
 *           memory_peak_bytes     the cgroup's lifetime peak (memory.peak) as read
 *           io_read_bytes         counter (sum over counted devices)
 *           io_write_bytes        counter
 *           tasks                 gauge
 *           any of them NULL: the host does not say (as in `usage --json`)
 *  hourly   roll-ups, kept 90 days; daily: the same columns, kept 5 years (365 d each)
 *           PRIMARY KEY (series_id, period_start)
 *           period_start          unix seconds (UTC) of the period's first second (hour or UTC day)
 *           samples               raw samples that fell in the period
 *           covered_seconds       time between consecutive samples ending in the period (gaps
 *                                 longer than max(5 × interval, 60 s) are not counted: the daemon
 *                                 was down), i.e. time seen running
 *           cpu_user_seconds, cpu_system_seconds, io_read_bytes, io_write_bytes
 *                                 growth of the counters over the samples of the period; never
 *                                 negative: a counter or memory_peak_bytes that went down means
 *                                 the cgroup was made anew (VM restarted), and every counter's
 *                                 new value is all growth (rollup.ts, the report's rule too).
 *                                 A series' first sample is a baseline and adds nothing.
 *           memory_samples        samples that had memory_current_bytes
 *           memory_avg_bytes      average of memory_current_bytes over those samples
 *           memory_peak_bytes     the most memory_current_bytes seen in the period
 *           tasks_max             the most tasks seen in the period
 *
 * Each sampling round (every record of one `usage` snapshot) is one transaction: its raw rows and
 * their roll-up updates commit together or not at all, so a SIGKILL loses only the round in flight.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { SubhostError } from '../errors';
import type { UsageRecord } from '../core/usage/record';
import { DAY, HOUR, increment, periodStart, type RawSample } from './rollup';
import { migrate, SCHEMA_VERSION } from './schema';
import { queryHistory, type HistoryQuery, type SeriesHistory } from './query';
import { prune, type PruneCounts } from './retention';
import { rowToSample } from './rows';

export type { Bucket, RawSample } from './rollup';
export type { HistoryQuery, SeriesHistory } from './query';
export type { PruneCounts } from './retention';

export const DEFAULT_DB = '/var/lib/subhost/history.sqlite';

export interface SeriesKey {
  host: string;
  kind: UsageRecord['kind'];
  name: string;
}

export interface OpenOptions {
  /** Readers (report, tests): no schema change, the file must exist. */
  readOnly?: boolean;
  /** Gaps longer than this are not covered time: gapLimitSeconds(--interval) (default 60 s, that of 10 s). */
  maxGapSeconds?: number;
}

// Positional: series, period start, covered, cpu user, cpu system, io read, io write, memory samples, memory (avg), memory (peak), tasks.
const ROLLUP_UPSERT = (table: string) => `
  INSERT INTO ${table} VALUES (?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (series_id, period_start) DO UPDATE SET
    samples = samples + 1,
    covered_seconds = covered_seconds + excluded.covered_seconds,
    cpu_user_seconds = cpu_user_seconds + excluded.cpu_user_seconds,
    cpu_system_seconds = cpu_system_seconds + excluded.cpu_system_seconds,
    io_read_bytes = io_read_bytes + excluded.io_read_bytes,
    io_write_bytes = io_write_bytes + excluded.io_write_bytes,
    memory_avg_bytes = CASE WHEN excluded.memory_samples = 0 THEN memory_avg_bytes
      ELSE (coalesce(memory_avg_bytes, 0) * memory_samples + excluded.memory_avg_bytes) / (memory_samples + 1) END,
    memory_samples = memory_samples + excluded.memory_samples,
    memory_peak_bytes = max(coalesce(memory_peak_bytes, excluded.memory_peak_bytes), coalesce(excluded.memory_peak_bytes, memory_peak_bytes)),
    tasks_max = max(coalesce(tasks_max, excluded.tasks_max), coalesce(excluded.tasks_max, tasks_max))`;

export function sampleOf(r: UsageRecord, tMs: number): RawSample {
  return {
    tMs,
    cpuUserSeconds: r.cpu.userSeconds,
    cpuSystemSeconds: r.cpu.systemSeconds,
    memoryCurrentBytes: r.memory.currentBytes,
    memoryPeakBytes: r.memory.peakBytes,
    ioReadBytes: r.io.readBytes,
    ioWriteBytes: r.io.writeBytes,
    tasks: r.tasks.count,
  };
}

const keyOf = (k: SeriesKey) => `${k.host}\0${k.kind}\0${k.name}`;

export class HistoryStore {
  private readonly ids = new Map<string, number>();
  /** The last stored sample of each series: the base of the next one's increment. */
  private readonly last = new Map<number, RawSample>();
  private readonly maxGapSeconds: number;
  /** The writer's statements, prepared at the first insert (a reader never prepares them). */
  private writes?: { sample: Database.Statement; hourly: Database.Statement; daily: Database.Statement };

  private constructor(
    readonly path: string,
    readonly db: Database.Database,
    opts: OpenOptions,
  ) {
    this.maxGapSeconds = opts.maxGapSeconds ?? 60;
  }

  /** Open (and, for a writer, create and migrate) the database at path. */
  static open(path: string, opts: OpenOptions = {}): HistoryStore {
    let db: Database.Database;
    try {
      if (!opts.readOnly) mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
      db = new Database(path, { readonly: !!opts.readOnly, fileMustExist: !!opts.readOnly });
    } catch (err) {
      throw new SubhostError(`history ${path}: ${(err as Error).message}`);
    }
    try {
      db.pragma('busy_timeout = 5000');
      if (!opts.readOnly) {
        db.pragma('journal_mode = WAL');
        // In WAL, NORMAL loses nothing on a process crash (only on power loss), and syncs far less.
        db.pragma('synchronous = NORMAL');
        migrate(db, path);
      } else {
        const v = db.pragma('user_version', { simple: true }) as number;
        if (v !== SCHEMA_VERSION) throw new SubhostError(`history ${path}: schema version ${v}, this subhost reads ${SCHEMA_VERSION}`);
      }
    } catch (err) {
      db.close();
      throw err instanceof SubhostError ? err : new SubhostError(`history ${path}: ${(err as Error).message}`);
    }
    const store = new HistoryStore(path, db, opts);
    if (!opts.readOnly) store.loadLast();
    return store;
  }

  private loadLast(): void {
    const rows = this.db
      .prepare(
        `SELECT s.*, se.host, se.kind, se.name FROM samples s JOIN series se ON se.id = s.series_id
         WHERE s.t_ms = (SELECT max(t_ms) FROM samples WHERE series_id = s.series_id)`,
      )
      .all() as any[];
    for (const r of rows) {
      this.ids.set(keyOf(r), r.series_id);
      this.last.set(r.series_id, rowToSample(r));
    }
  }

  private seriesId(k: SeriesKey): number {
    const key = keyOf(k);
    let id = this.ids.get(key);
    if (id === undefined) {
      this.db.prepare('INSERT OR IGNORE INTO series (host, kind, name) VALUES (?, ?, ?)').run(k.host, k.kind, k.name);
      id = (this.db.prepare('SELECT id FROM series WHERE host = ? AND kind = ? AND name = ?').get(k.host, k.kind, k.name) as { id: number }).id;
      this.ids.set(key, id);
    }
    return id;
  }

  /**
   * Store one sampling round (one transaction); returns how many samples were new. `beforeCommit`
   * runs inside the transaction once every row is written (the crash tests kill the daemon there).
   */
  insert(records: UsageRecord[], tMs?: number, beforeCommit?: () => void): number {
    const { sample: insSample, hourly, daily } = (this.writes ??= {
      sample: this.db.prepare('INSERT OR IGNORE INTO samples VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)'),
      hourly: this.db.prepare(ROLLUP_UPSERT('hourly')),
      daily: this.db.prepare(ROLLUP_UPSERT('daily')),
    });
    const next = new Map<number, RawSample>();
    const stored = this.db.transaction(() => {
      let n = 0;
      for (const r of records) {
        const sid = this.seriesId(r);
        const s = sampleOf(r, tMs ?? Date.parse(r.time));
        const prev = next.get(sid) ?? this.last.get(sid);
        if (prev && s.tMs <= prev.tMs) continue;
        const res = insSample.run(sid, s.tMs, s.cpuUserSeconds, s.cpuSystemSeconds, s.memoryCurrentBytes, s.memoryPeakBytes, s.ioReadBytes, s.ioWriteBytes, s.tasks);
        if (!res.changes) continue;
        const inc = increment(prev, s, this.maxGapSeconds);
        const ms = inc.memoryBytes === null ? 0 : 1;
        hourly.run(sid, periodStart(s.tMs, HOUR), inc.coveredSeconds, inc.cpuUserSeconds, inc.cpuSystemSeconds, inc.ioReadBytes, inc.ioWriteBytes, ms, inc.memoryBytes, inc.memoryBytes, inc.tasks);
        daily.run(sid, periodStart(s.tMs, DAY), inc.coveredSeconds, inc.cpuUserSeconds, inc.cpuSystemSeconds, inc.ioReadBytes, inc.ioWriteBytes, ms, inc.memoryBytes, inc.memoryBytes, inc.tasks);
        next.set(sid, s);
        n++;
      }
      beforeCommit?.();
      return n;
    })();
    // Only once committed: a failed round leaves the bases where the database has them.
    for (const [sid, s] of next) this.last.set(sid, s);
    return stored;
  }

  /** Every series in the database. */
  series(): (SeriesKey & { id: number })[] {
    return this.db.prepare('SELECT id, host, kind, name FROM series ORDER BY host, kind, name').all() as (SeriesKey & { id: number })[];
  }

  /** Time series in buckets of q.stepSeconds, from the finest table that has the step (query.ts). */
  query(q: HistoryQuery): SeriesHistory[] {
    return queryHistory(this.db, q, this.maxGapSeconds);
  }

  /** Delete what is older than the retention of each table (retention.ts). */
  prune(nowMs = Date.now()): PruneCounts {
    const counts = prune(this.db, nowMs);
    // Series whose raw samples all went: the next sample is a baseline again, as after a restart.
    const alive = new Set((this.db.prepare('SELECT DISTINCT series_id AS id FROM samples').all() as { id: number }[]).map((r) => r.id));
    for (const sid of this.last.keys()) if (!alive.has(sid)) this.last.delete(sid);
    if (counts.series) {
      this.ids.clear();
      for (const r of this.series()) this.ids.set(keyOf(r), r.id);
    }
    return counts;
  }

  /** PRAGMA integrity_check: 'ok' or the problems found. */
  integrity(): string {
    return (this.db.pragma('integrity_check') as { integrity_check: string }[]).map((r) => r.integrity_check).join('; ');
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
