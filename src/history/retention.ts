import type Database from 'better-sqlite3';
import { DAY } from './rollup';

/** How long each table keeps its rows (SPEC §4.1). */
export const RETENTION = { rawDays: 7, hourlyDays: 90, dailyDays: 5 * 365 };

export interface PruneCounts {
  samples: number;
  hourly: number;
  daily: number;
  series: number;
}

/** Rows deleted per statement: a long delete would hold the write lock against the sampler and readers. */
const BATCH = 5000;

function deleteOlder(db: Database.Database, table: 'samples' | 'hourly' | 'daily', column: string, before: number): number {
  const stmt = db.prepare(`DELETE FROM ${table} WHERE (series_id, ${column}) IN (SELECT series_id, ${column} FROM ${table} WHERE ${column} < ? LIMIT ${BATCH})`);
  let total = 0;
  for (;;) {
    const n = stmt.run(before).changes;
    total += n;
    if (n < BATCH) return total;
  }
}

/** Delete raw samples older than 7 days, hourly roll-ups older than 90, daily older than 5 years, and series left with nothing. */
export function prune(db: Database.Database, nowMs: number): PruneCounts {
  const nowS = Math.floor(nowMs / 1000);
  const samples = deleteOlder(db, 'samples', 't_ms', nowMs - RETENTION.rawDays * DAY * 1000);
  // A roll-up period goes once all of it is past the retention.
  const hourly = deleteOlder(db, 'hourly', 'period_start', nowS - RETENTION.hourlyDays * DAY - 3600);
  const daily = deleteOlder(db, 'daily', 'period_start', nowS - RETENTION.dailyDays * DAY - DAY);
  const series = db
    .prepare(
      `DELETE FROM series WHERE id NOT IN (SELECT series_id FROM samples) AND id NOT IN (SELECT series_id FROM hourly)
       AND id NOT IN (SELECT series_id FROM daily)`,
    )
    .run().changes;
  return { samples, hourly, daily, series };
}
