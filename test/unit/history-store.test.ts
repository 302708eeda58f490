import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { UsageRecord } from '../../src/core/usage/record';
import { HistoryStore } from '../../src/history/store';
import { counterDelta } from '../../src/history/rollup';
import { periodsBetween } from '../../src/report/calendar';
import { rollUp } from '../../src/report/rollup';
import { SCHEMA_VERSION } from '../../src/history/schema';
import { usageRecord } from '../helpers/usage-record';

const dirs: string[] = [];
function dbPath(): string {
  const d = mkdtempSync(join(tmpdir(), 'subhost-hist-'));
  dirs.push(d);
  return join(d, 'h.sqlite');
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const H0 = Date.UTC(2026, 0, 2, 3, 0, 0);

const rec = (name: string, tMs: number, cpu: number, mem: number, io = 0, kind: UsageRecord['kind'] = 'subhost'): UsageRecord =>
  usageRecord({ host: 'h1', kind, name, time: tMs, user: cpu, system: cpu / 2, memory: mem, peak: mem * 2, read: io, write: io * 3, tasks: 3 });

describe('counterDelta', () => {
  it('is the growth, or the new value after a reset, never negative', () => {
    expect(counterDelta(10, 15)).toBe(5);
    expect(counterDelta(10, 4)).toBe(4);
    expect(counterDelta(undefined, 7)).toBe(0);
    expect(counterDelta(3, null)).toBe(0);
  });
});

describe('HistoryStore', () => {
  it('creates the schema at the current version, in WAL', () => {
    const p = dbPath();
    HistoryStore.open(p).close();
    const db = new Database(p, { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });

  it('rolls samples up into hours and days, a counter reset starting a new run', () => {
    const s = HistoryStore.open(dbPath());
    // 10 s apart: 0, 10, 20 (reset: VM restarted), 30.
    s.insert([rec('a', H0, 100, 1000, 50)]);
    s.insert([rec('a', H0 + 10_000, 104, 3000, 60)]);
    s.insert([rec('a', H0 + 20_000, 2, 2000, 5)]);
    s.insert([rec('a', H0 + 30_000, 3, 6000, 7)]);
    const [h] = s.query({ name: 'a', sinceMs: H0, stepSeconds: 3600 });
    expect(h.source).toBe('hourly');
    expect(h.points).toHaveLength(1);
    const p = h.points[0];
    expect(p.start).toBe(H0 / 1000);
    expect(p.samples).toBe(4);
    expect(p.coveredSeconds).toBe(30);
    expect(p.cpuUserSeconds).toBeCloseTo(4 + 2 + 1);
    expect(p.ioReadBytes).toBe(10 + 5 + 2);
    expect(p.memoryAvgBytes).toBe(3000);
    expect(p.memoryPeakBytes).toBe(6000);
    // The same figures from the raw samples in one bucket of 60 s.
    const [r] = s.query({ name: 'a', sinceMs: H0, stepSeconds: 60 });
    expect(r.source).toBe('samples');
    expect(r.points[0].cpuUserSeconds).toBeCloseTo(p.cpuUserSeconds);
    expect(r.points[0].coveredSeconds).toBe(30);
    const [d] = s.query({ name: 'a', sinceMs: H0 - 200 * 86400_000, stepSeconds: 86400 });
    expect(d.source).toBe('daily');
    expect(d.points[0].cpuUserSeconds).toBeCloseTo(7);
    s.close();
  });

  it('a reset of one counter is a new run for all, as the report counts it: a counter higher than before counts whole', () => {
    const s = HistoryStore.open(dbPath());
    // At 20 s the VM was made anew: CPU went back, but the new run has already read more than the old one had.
    const recs = [rec('a', H0, 100, 1000, 50), rec('a', H0 + 10_000, 104, 3000, 60), rec('a', H0 + 20_000, 2, 2000, 80), rec('a', H0 + 30_000, 3, 6000, 90)];
    for (const r of recs) s.insert([r]);
    const p = s.query({ name: 'a', sinceMs: H0, stepSeconds: 3600 })[0].points[0];
    expect(p.cpuUserSeconds).toBeCloseTo(4 + 2 + 1);
    expect(p.ioReadBytes).toBe(10 + 80 + 10);
    expect(p.ioWriteBytes).toBe(3 * (10 + 80 + 10));
    // The report over the same samples (as it reads them while they are kept raw) gives the same figures.
    const samples = recs.map((r) => ({ t: Date.parse(r.time), cpuUser: r.cpu.userSeconds, cpuSystem: r.cpu.systemSeconds, ioRead: r.io.readBytes, ioWrite: r.io.writeBytes, memCurrent: r.memory.currentBytes, memPeak: r.memory.peakBytes }));
    const periods = periodsBetween(H0, H0 + 3600_000, 'hour', 'UTC');
    const [row] = rollUp({ series: [{ host: 'h1', kind: 'subhost', name: 'a', samples }], ticks: [{ host: 'h1', ticks: samples.map((x) => x.t) }], periods, since: H0, until: H0 + 3600_000, gapMs: 60_000 }).rows;
    expect(row.usage.cpuUserSeconds).toBeCloseTo(p.cpuUserSeconds);
    expect(row.usage.cpuSystemSeconds).toBeCloseTo(p.cpuSystemSeconds);
    expect(row.usage.ioReadBytes).toBe(p.ioReadBytes);
    expect(row.usage.ioWriteBytes).toBe(p.ioWriteBytes);
    expect(row.usage.runningSeconds).toBe(p.coveredSeconds);
    s.close();
  });

  it('continues the same runs after a reopen, and ignores a sample it already has', () => {
    const p = dbPath();
    const s = HistoryStore.open(p);
    s.insert([rec('a', H0, 100, 1000)]);
    s.close();
    const s2 = HistoryStore.open(p);
    expect(s2.insert([rec('a', H0, 100, 1000)])).toBe(0);
    s2.insert([rec('a', H0 + 10_000, 110, 1000)]);
    const [h] = s2.query({ name: 'a', sinceMs: H0, stepSeconds: 3600 });
    expect(h.points[0].cpuUserSeconds).toBeCloseTo(10);
    expect(h.points[0].coveredSeconds).toBe(10);
    s2.close();
  });

  it('does not count a gap longer than the limit as covered time, but counts the growth', () => {
    const s = HistoryStore.open(dbPath(), { maxGapSeconds: 60 });
    s.insert([rec('a', H0, 100, 1000)]);
    s.insert([rec('a', H0 + 600_000, 160, 1000)]);
    const [h] = s.query({ name: 'a', sinceMs: H0, stepSeconds: 3600 });
    expect(h.points[0].coveredSeconds).toBe(0);
    expect(h.points[0].cpuUserSeconds).toBeCloseTo(60);
    s.close();
  });

  it('prunes each table by its retention, and series left with nothing', () => {
    const s = HistoryStore.open(dbPath());
    const now = H0 + 400 * 86400_000;
    s.insert([rec('old', H0, 1, 1)]);
    s.insert([rec('old', H0 + 10_000, 2, 1)]);
    s.insert([rec('mid', now - 30 * 86400_000, 1, 1)]);
    s.insert([rec('new', now - 1000, 1, 1)]);
    const n = s.prune(now);
    // The two old samples share one hour; 'mid' keeps its hour (30 d < 90 d) and its day.
    expect(n).toEqual({ samples: 3, hourly: 1, daily: 0, series: 0 });
    expect(s.query({ sinceMs: 0, untilMs: Number.MAX_SAFE_INTEGER, stepSeconds: 60 }).map((x) => x.name)).toEqual(['new']);
    const n2 = s.prune(H0 + 10 * 365 * 86400_000);
    expect(n2.series).toBe(3);
    expect(s.series()).toEqual([]);
    expect(s.integrity()).toBe('ok');
    s.close();
  });

  it('refuses a database from a newer subhost, naming both versions', () => {
    const p = dbPath();
    HistoryStore.open(p).close();
    const db = new Database(p);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    expect(() => HistoryStore.open(p)).toThrow(/schema version 2 is newer than this subhost knows \(1\)/);
  });
});
