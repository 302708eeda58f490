import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UsageRecord } from '../../src/core/usage/record';
import { HistoryStore } from '../../src/history/store';
import { buildReport } from '../../src/report/build';
import { periodsBetween, type PeriodKind } from '../../src/report/calendar';
import Database from 'better-sqlite3';
import { LocalSource } from '../../src/report/local';
import { hourPeriod } from '../../src/report/rollup';
import { periodSpans, summedByRow, summedBySql } from '../../src/report/local-hourly';
import { usageRecord } from '../helpers/usage-record';

const dir = mkdtempSync(join(tmpdir(), 'subhost-report-local-'));
const db = join(dir, 'history.sqlite');
const T0 = Date.parse('2026-12-01T00:00:00Z');
const H = 3600_000;

const record = (name: string, t: number, cpu: number, mem: number): UsageRecord =>
  usageRecord({ host: 'node1', name, time: t, user: cpu, system: cpu / 4, memory: mem, peak: null, read: cpu * 1000, write: cpu * 10, tasks: 1 });

beforeAll(() => {
  const store = HistoryStore.open(db);
  // web: 10-s samples 00:00-03:00, rebooting at 01:30 (counters from 0 again); db: only 01:00-02:30.
  for (let s = 0; s <= 3 * 3600; s += 10) {
    const t = T0 + s * 1000;
    const recs = [record('web', t, s < 5400 ? s / 10 : (s - 5400) / 20 + 1, 1000 + (s % 70))];
    if (s >= 3600 && s <= 9000) recs.push(record('db', t, s / 5, 4096 + (s % 30)));
    store.insert(recs, t);
  }
  store.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function report(rawLimit: number, by: PeriodKind) {
  const source = new LocalSource(db, rawLimit);
  try {
    return await buildReport(source, { since: T0, until: T0 + 2.5 * H, by, timeZone: 'UTC', names: [] });
  } finally {
    source.close();
  }
}

const rowsOf = (r: Awaited<ReturnType<typeof report>>) => r.rows.map((x) => ({ period: x.period.label, name: x.name, ...x.usage, restarts: undefined }));

describe('report from the local history over a long range: roll-ups for whole hours, raw samples for the edge', () => {
  it('takes the roll-up path when the raw samples are too many', async () => {
    const periods = periodsBetween(T0, T0 + 2.5 * H, 'hour', 'UTC');
    const h = await new LocalSource(db, 0).load({ since: T0, from: T0 - 60_000, until: T0 + 2.5 * H, names: [], periods });
    expect(h.rawSince).toBe(T0 + 2 * H);
    // One bucket per series and hour before rawSince: web 00:00, 01:00; db 01:00.
    expect(h.buckets!.map((b) => [b.name, b.start])).toEqual([
      ['web', T0],
      ['web', T0 + H],
      ['db', T0 + H],
    ]);
    expect(h.series.map((s) => [s.name, s.samples.length])).toEqual([
      ['web', 186],
      ['db', 186],
    ]);
  });

  for (const by of ['hour', 'day'] as const) {
    it(`by ${by}: the same counters, memory and covered time as from the raw samples alone`, async () => {
      const raw = await report(Infinity, by);
      const rolled = await report(0, by);
      const a = rowsOf(raw);
      const b = rowsOf(rolled);
      expect(b.map((x) => [x.period, x.name])).toEqual(a.map((x) => [x.period, x.name]));
      for (let i = 0; i < a.length; i++) {
        // The roll-up gives an interval to the hour of its later sample; the raw path splits it at the hour: one interval apart at most.
        expect(Math.abs(b[i].runningSeconds - a[i].runningSeconds)).toBeLessThanOrEqual(10);
        expect(b[i].cpuUserSeconds).toBeCloseTo(a[i].cpuUserSeconds!, 9);
        expect(b[i].cpuSystemSeconds).toBeCloseTo(a[i].cpuSystemSeconds!, 9);
        expect(b[i].ioReadBytes).toBeCloseTo(a[i].ioReadBytes!, 6);
        expect(b[i].ioWriteBytes).toBeCloseTo(a[i].ioWriteBytes!, 6);
        expect(b[i].memSum / b[i].memCount).toBeCloseTo(a[i].memSum / a[i].memCount, 6);
        expect(b[i].memPeakBytes).toBe(a[i].memPeakBytes);
      }
      // The host is covered while any of its series ran: web's whole range, not web's plus db's.
      expect(rolled.hosts.map((h) => h.period.label)).toEqual(raw.hosts.map((h) => h.period.label));
      rolled.hosts.forEach((h, i) => expect(Math.abs(h.coveredSeconds - raw.hosts[i].coveredSeconds)).toBeLessThanOrEqual(10));
      // Short of the whole range by at most two intervals: the first sample (a baseline in the roll-up) and the one that ends at rawSince (rollUp counts raw time from rawSince on).
      expect(Math.abs(rolled.hosts.reduce((s, h) => s + h.coveredSeconds, 0) - 2.5 * 3600)).toBeLessThanOrEqual(20);
    });
  }
});

describe('hourly roll-ups summed per period: by SQLite or row by row, the same', () => {
  for (const [by, since] of [['hour', T0 + 0.5 * H], ['day', T0 + 0.5 * H], ['hour', T0], ['week', T0 - 0.25 * H]] as const)
    it(`by ${by} from ${new Date(since).toISOString()}`, () => {
      const h = new Database(db, { readonly: true });
      try {
        const until = T0 + 3 * H;
        const rawSince = T0 + 3 * H;
        const q = { since, from: since - 60_000, until, names: [], periods: periodsBetween(since, until, by, 'UTC') };
        const keys = new Map((h.prepare('SELECT id, host, kind, name FROM series').all() as { id: number; host: string; kind: 'subhost'; name: string }[]).map((r) => [r.id, { host: r.host, kind: r.kind, name: r.name }]));
        const a = summedByRow(h, q, rawSince, keys);
        const b = summedBySql(h, q, periodSpans(q, rawSince), keys);
        // A bucket's start only picks its period: compare periods, in one order.
        const period = (start: number) => hourPeriod(q.periods, since, rawSince, start);
        const byKey = (x: { key: string }, y: { key: string }) => (x.key < y.key ? -1 : 1);
        const norm = (x: typeof a) => ({
          buckets: x.buckets
            .map((k) => ({ key: `${period(k.start)} ${k.name}`, ...k, start: undefined, usage: { ...k.usage, cpuUserSeconds: +k.usage.cpuUserSeconds!.toFixed(9), cpuSystemSeconds: +k.usage.cpuSystemSeconds!.toFixed(9), memSum: +k.usage.memSum.toFixed(3) } }))
            .sort(byKey),
          cover: x.cover.map((c) => ({ key: `${period(c.start)} ${c.host}`, seconds: c.seconds })).sort(byKey),
        });
        expect(a.buckets.length).toBeGreaterThan(0);
        expect(norm(b)).toEqual(norm(a));
        // The hour that began before since goes to the first period, whole.
        if (by === 'hour' && since > T0) expect(a.buckets.find((k) => k.name === 'web')!.usage.runningSeconds).toBe(3590);
      } finally {
        h.close();
      }
    });
});
