import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

/** Where the history is kept between bench runs: making it takes minutes, reading it is what is measured. */
const KEEP = benchPrefix() === 'bn' ? '/var/tmp/subhost-bench-report' : `/var/tmp/${benchPrefix()}-subhost-bench-report`;
const VERSION = 1;

/** The kept history and the time it ends at, made now when missing (or of an older makeHistory). */
function keptHistory(): { db: string; now: number; made?: number } {
  const db = join(KEEP, `history-v${VERSION}.sqlite`);
  const stamp = join(KEEP, `history-v${VERSION}.json`);
  if (existsSync(db) && existsSync(stamp)) return { db, now: (JSON.parse(readFileSync(stamp, 'utf8')) as { now: number }).now };
  rmSync(KEEP, { recursive: true, force: true });
  mkdirSync(KEEP, { recursive: true });
  const now = Date.now();
  makeHistory(db, now);
  writeFileSync(stamp, JSON.stringify({ now }));
  return { db, now, made: Date.now() - now };
}

/** CPU seconds (user + system) of one run of argv: bash's `times` after it (children's totals). */
function cpuOf(argv: string[]): number {
  const r = spawnSync('bash', ['-c', '"$@" >/dev/null; s=$?; times; exit $s', 'bash', ...argv], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr}`);
  // Second line: the children's user and system time, as 0m1.234s 0m0.123s.
  const [user, sys] = r.stdout.trim().split('\n')[1].split(/\s+/).map((x) => {
    const m = /^(\d+)m([\d.]+)s$/.exec(x)!;
    return Number(m[1]) * 60 + Number(m[2]);
  });
  return (user + sys) * 1000;
}

/**
 * `subhost report` over 30 days of that history, by day and by hour, as the CLI runs it: wall
 * time, and CPU time (the machine may be busy). The history is kept in /var/tmp between runs and
 * the range is the 30 days before it was made, so every run reads the same rows.
 */
export function benchReport(runs: number): Figure[] {
  const { db, now, made } = keptHistory();
  const range = ['--db', db, '--since', new Date(now - DAYS * 86400_000).toISOString(), '--until', new Date(now).toISOString()];
  const day = subhostArgv('report', ...range, '--by', 'day', '--format', 'json');
  const hour = subhostArgv('report', ...range, '--by', 'hour', '--format', 'csv');
  const byDay: number[] = [];
  const byHour: number[] = [];
  const cpuDay: number[] = [];
  const cpuHour: number[] = [];
  for (let i = 0; i < Math.min(runs, 5); i++) {
    byDay.push(must(day).ms);
    byHour.push(must(hour).ms);
    cpuDay.push(cpuOf(day));
    cpuHour.push(cpuOf(hour));
  }
  const note = made === undefined ? `history kept in ${KEEP}` : `history made in ${(made / 1000).toFixed(0)} s, kept in ${KEEP}`;
  return [
    figure('report-30d-day', `\`subhost report\` over 30 days \`--by day\`, ${SUBHOSTS} subhosts, ${INTERVAL_S}-s samples`, 'ms', byDay, 1000, note),
    figure('report-30d-day-cpu', `the same, CPU time (user + system)`, 'ms', cpuDay),
    figure('report-30d-hour', `\`subhost report\` over 30 days \`--by hour --format csv\`, the same history`, 'ms', byHour, 1000),
    figure('report-30d-hour-cpu', `the same, CPU time (user + system)`, 'ms', cpuHour),
  ];
}
