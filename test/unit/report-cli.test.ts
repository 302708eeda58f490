import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UsageRecord } from '../../src/core/usage/record';
import { HistoryStore } from '../../src/history/store';
import { cli } from '../helpers/cli';
import { usageRecord } from '../helpers/usage-record';

const dir = mkdtempSync(join(tmpdir(), 'subhost-report-'));
const db = join(dir, 'history.sqlite');
const T0 = Date.parse('2026-12-01T10:00:00Z');

const record = (name: string, t: number, cpu: number, mem: number): UsageRecord =>
  usageRecord({ host: 'node1', name, time: t, user: cpu, system: cpu / 2, memory: mem, peak: null, read: cpu * 1000, write: cpu * 100, tasks: 1 });

const range = ['--since', '2026-12-01T10:00', '--until', '2026-12-01T13:00', '--utc', '--by', 'hour', '--db', db];
const report = (...args: string[]) => cli(['report', ...range, ...args], { env: { TZ: 'UTC' } });

beforeAll(() => {
  const store = HistoryStore.open(db);
  // web: 10-s samples 10:00-12:00, 1 CPU-second per 10 s; it reboots at 10:30 (counters from 0 again).
  // db: the same, but the daemon was stopped 11:00-11:30 (no samples of anything).
  for (let s = 0; s <= 7200; s += 10) {
    const t = T0 + s * 1000;
    if (s > 3600 && s < 5400) continue;
    const web = s < 1800 ? s / 10 : (s - 1800) / 10 + 1;
    store.insert([record('web', t, web, 1000 + (s % 20)), record('db', t, s / 10, 4096)], t);
  }
  store.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('subhost report from a history database', () => {
  it('json: exact deltas per hour, the reboot a new run, the stopped daemon a gap', () => {
    const r = report('--format', 'json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.periods.map((p: { label: string }) => p.label)).toEqual(['2026-12-01 10:00', '2026-12-01 11:00', '2026-12-01 12:00']);
    const row = (p: number, name: string) => j.periods[p].rows.find((x: { name: string }) => x.name === name);
    // 10:00: 359 intervals observed; web's reboot interval counts its new run's 1 s, not -179.
    expect(row(0, 'db')).toMatchObject({ cpuUserSeconds: 359, cpuSystemSeconds: 179.5, ioReadBytes: 359000, runningSeconds: 3600, restarts: 0 });
    expect(row(0, 'web')).toMatchObject({ cpuUserSeconds: 359, restarts: 1, memoryAverageBytes: 1005, memoryPeakBytes: 1010 });
    // 11:00: samples until 11:00 and again from 11:30: half an hour not covered.
    expect(j.periods[1].hosts[0]).toMatchObject({ host: 'node1', coveredSeconds: 1800, notCoveredSeconds: 1800 });
    expect(row(1, 'db')).toMatchObject({ cpuUserSeconds: 180, runningSeconds: 1800 });
    // What grew while the daemon was stopped is the gap's, not spread over hours.
    expect(j.gaps).toHaveLength(1);
    expect(j.gaps[0]).toMatchObject({ host: 'node1', start: '2026-12-01T11:00:00Z', end: '2026-12-01T11:30:00Z', seconds: 1800 });
    expect(j.gaps[0].usage.find((u: { name: string }) => u.name === 'db')).toMatchObject({ cpuUserSeconds: 180 });
    // Every second of db's CPU is somewhere: the rows plus the gap.
    const total = j.periods.reduce((a: number, _: unknown, i: number) => a + (row(i, 'db')?.cpuUserSeconds ?? 0), 0) + 180;
    expect(total).toBe(720);
    expect(j.periods[0].total).toMatchObject({ cpuUserSeconds: 718, runningSeconds: 7200 });
  });

  it('csv: one line per row, host total and gap, raw numbers', () => {
    const lines = report('--format', 'csv').stdout.trim().split('\n');
    expect(lines[0]).toBe(
      'period_start,period_end,period,host,kind,name,cpu_user_seconds,cpu_system_seconds,memory_average_bytes,memory_peak_bytes,io_read_bytes,io_write_bytes,running_seconds,restarts,covered_seconds,not_covered_seconds',
    );
    expect(lines).toContain('2026-12-01T10:00:00Z,2026-12-01T11:00:00Z,2026-12-01 10:00,node1,subhost,db,359,179.5,4096,4096,359000,35900,3600,0,,');
    expect(lines.some((l) => l.startsWith('2026-12-01T11:00:00Z,2026-12-01T11:30:00Z,,node1,gap,,'))).toBe(true);
  });

  it('table: aligned columns with human units, the gap shown as not covered', () => {
    const lines = report().stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^PERIOD\s+HOST\s+KIND\s+NAME\s+CPU-USER\s+CPU-SYS\s+MEM-AVG\s+MEM-PEAK\s+IO-READ\s+IO-WRITE\s+RUNNING\s+RESTARTS\s+NOT-COVERED$/);
    const col = lines[0].indexOf('CPU-USER');
    for (const l of lines.slice(1).filter((x) => !x.includes(' gap '))) expect(l[col - 1]).toBe(' ');
    expect(lines.find((l) => / db /.test(l) && l.startsWith('2026-12-01 10:00'))).toMatch(/5m59s\s+2m59s\s+4\.0K\s+4\.0K\s+350\.6K\s+35\.1K\s+1h00m\s+0/);
    expect(lines.find((l) => l.startsWith('2026-12-01 11:00') && l.includes('(host)'))).toMatch(/30m00s$/);
    expect(lines.some((l) => l.startsWith('2026-12-01T11:00..2026-12-01T11:30') && l.includes('gap'))).toBe(true);
  });

  it('only the names asked for; a missing database or an empty range is an empty report, exit 0', () => {
    const j = JSON.parse(report('--format', 'json', 'web').stdout);
    expect(new Set(j.periods.flatMap((p: { rows: { name: string }[] }) => p.rows.map((x) => x.name)))).toEqual(new Set(['web']));
    const none = cli(['report', '--db', join(dir, 'absent.sqlite')]);
    expect([none.code, none.stdout, none.stderr]).toEqual([0, '', '']);
    const early = cli(['report', '--db', db, '--since', '2020-01-01', '--until', '2020-01-02', '--format', 'csv']);
    expect(early.code).toBe(0);
    expect(early.stdout.trim().split('\n')).toHaveLength(1);
  });

  it.each([
    [['--since', 'yesterday'], /^subhost: report: --since "yesterday": expected 30m, 12h, 7d, 4w/],
    [['--until', '2026-13-01'], /^subhost: report: --until "2026-13-01": expected/],
    [['--by', 'year'], /^subhost: report: --by "year": expected one of hour, day, week, month$/],
    [['--format', 'xml'], /^subhost: report: --format "xml": expected one of table, csv, json$/],
    [['--since', '1d', '--until', '2d'], /^subhost: report: --since must be before --until$/],
    [['--prometheus', 'not a url'], /^subhost: report: --prometheus "not a url": not a URL$/],
  ])('bad usage %j: exit 2, one line', (args, message) => {
    const r = cli(['report', ...(args.includes('--prometheus') ? [] : ['--db', db]), ...args]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr.trimEnd()).toMatch(message);
  });
});
