import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { HistoryStore } from '../src/history/store';
import { benchPrefix } from './fixture';
import { figure, type Figure } from './figures';
import { must, subhostArgv } from './run';

const SUBHOSTS = 100;
const DAYS = 30;
const INTERVAL_S = 10;

/**
 * A history as the daemon leaves it after 30 days of 10-s samples for 100 subhosts: raw samples
 * of the last 7 days (6 million rows; older ones pruned) and hourly roll-ups of all 30 days.
 * Written straight into the tables (the daemon's own inserts would take an hour).
 */
export function makeHistory(path: string, now: number): void {
  const store = HistoryStore.open(path);
  const db = store.db;
  const series = db.prepare('INSERT INTO series (host, kind, name) VALUES (?, ?, ?)');
  const raw = db.prepare('INSERT INTO samples VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
  const hour = db.prepare('INSERT INTO hourly VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
  const start = Math.floor((now - DAYS * 86400_000) / 3600_000) * 3600_000;
  const rawFrom = now - 7 * 86400_000;
  for (let s = 0; s < SUBHOSTS; s++) {
    const id = Number(series.run('node1', 'subhost', `bench${String(s).padStart(3, '0')}`).lastInsertRowid);
    const rate = 0.01 + (s % 10) / 100; // CPU seconds per second
    db.transaction(() => {
      for (let h = start; h < now; h += 3600_000) hour.run(id, h / 1000, 360, 3600, 3600 * rate, 360 * rate, 3600 * 4096, 3600 * 1024, 360, 64 * 2 ** 20, 80 * 2 ** 20, 4);
      for (let t = Math.ceil(rawFrom / 10_000) * 10_000; t < now; t += INTERVAL_S * 1000) {
        const c = (t - start) / 1000;
        raw.run(id, t, c * rate, c * rate * 0.1, 64 * 2 ** 20 + (t % 7) * 4096, 80 * 2 ** 20, c * 4096, c * 1024, 4);
      }
    })();
  }
  store.close();
}

/** `subhost report --since 30d` over that history, by day and by hour, as the CLI runs it. */
export function benchReport(runs: number): Figure[] {
  const prefix = benchPrefix();
  const dir = mkdtempSync(prefix === 'bn' ? '/var/tmp/subhost-bench-report-' : `/var/tmp/${prefix}-subhost-bench-report-`);
  try {
    const db = join(dir, 'history.sqlite');
    const t0 = Date.now();
    makeHistory(db, Date.now());
    const made = Date.now() - t0;
    const byDay: number[] = [];
    const byHour: number[] = [];
    for (let i = 0; i < Math.min(runs, 5); i++) {
      byDay.push(must(subhostArgv('report', '--db', db, '--since', '30d', '--by', 'day', '--format', 'json')).ms);
      byHour.push(must(subhostArgv('report', '--db', db, '--since', '30d', '--by', 'hour', '--format', 'csv')).ms);
    }
    return [
      figure('report-30d-day', `\`subhost report --since 30d --by day\`, ${SUBHOSTS} subhosts, 10-s samples (db made in ${(made / 1000).toFixed(0)} s)`, 'ms', byDay, 1000),
      figure('report-30d-hour', `\`subhost report --since 30d --by hour --format csv\`, the same history`, 'ms', byHour, 1000),
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
