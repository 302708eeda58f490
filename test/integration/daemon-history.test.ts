import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UsageRecord } from '../../src/core/usage/record';
import { isVmProcess } from '../../src/core/vms/vm-process';
import { readStat } from '../../src/host/proc';
import { HistoryStore } from '../../src/history/store';
import { startDaemon } from '../helpers/daemon';
import { makeTestRoot, PREFIX, removeTestRoot, sleep, waitFor } from '../helpers/env';

const QEMU = ['-S', '-display', 'none', '-nodefaults', '-m', '16', '-accel', 'tcg'];
const VM = `${PREFIX}hq${process.pid % 1000}`;

/** What the history holds for the test VM: raw sample times, and its hourly roll-ups summed. */
function history(db: string) {
  const h = new Database(db, { readonly: true });
  try {
    const integrity = (h.pragma('integrity_check') as { integrity_check: string }[]).map((r) => r.integrity_check).join('; ');
    const times = (h.prepare(`SELECT t_ms FROM samples s JOIN series se ON se.id = s.series_id WHERE se.name = ? ORDER BY t_ms`).all(VM) as { t_ms: number }[]).map((r) => r.t_ms);
    const hourly = h.prepare(`SELECT coalesce(sum(samples), 0) AS samples, coalesce(sum(covered_seconds), 0) AS covered FROM hourly r JOIN series se ON se.id = r.series_id WHERE se.name = ?`).get(VM) as { samples: number; covered: number };
    const daily = h.prepare(`SELECT coalesce(sum(samples), 0) AS samples FROM daily r JOIN series se ON se.id = r.series_id WHERE se.name = ?`).get(VM) as { samples: number };
    return { integrity, times, hourly, daily };
  } finally {
    h.close();
  }
}

/** Every stored sample rolled up exactly once, and no gap longer than `maxGapMs` between samples. */
function expectOneHistory(db: string, maxGapMs: number) {
  const x = history(db);
  expect(x.integrity).toBe('ok');
  expect(x.hourly.samples).toBe(x.times.length);
  expect(x.daily.samples).toBe(x.times.length);
  const gaps = x.times.slice(1).map((t, i) => t - x.times[i]);
  expect(Math.max(...gaps)).toBeLessThanOrEqual(maxGapMs);
  // One run from the first sample to the last: the restart did not start the history again.
  expect(x.hourly.covered).toBeCloseTo((x.times[x.times.length - 1] - x.times[0]) / 1000, 3);
  return x;
}

describe('daemon history', () => {
  const root = makeTestRoot();
  const run = join(root, 'run');
  let vm: ChildProcess;

  beforeAll(async () => {
    mkdirSync(run, { recursive: true });
    // A VM of this test's own, so there is a cgroup (vm/NAME) to sample on any host.
    vm = spawn('qemu-system-x86_64', ['-name', VM, ...QEMU], { stdio: 'ignore' });
    await waitFor('qemu to run', () => vm.pid && isVmProcess(undefined, readStat(vm.pid)?.comm ?? ''));
  });

  afterAll(async () => {
    // Its vm/NAME goes the way a VM's does: the daemon watching it sees it empty and removes it.
    const d = await startDaemon({ root, run, db: join(root, 'last.sqlite') });
    if (vm.exitCode === null && vm.signalCode === null) vm.kill('SIGKILL');
    await waitFor('qemu to end', () => vm.exitCode !== null || vm.signalCode !== null);
    await waitFor('the VM cgroup removed', () => d.stderr().includes(`removed empty cgroup vm/${VM}`), 15_000);
    await d.stop();
    removeTestRoot(root);
  });

  it('continues the same history across a SIGTERM restart, and ends as cleanly on SIGINT', async () => {
    const db = join(root, 'term.sqlite');
    let d = await startDaemon({ root, run, db, interval: 0.5 });
    await waitFor('3 samples', () => history(db).times.length >= 3, 15_000);
    expect(await d.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(d.stderr()).toMatch(/daemon: SIGTERM: stopping\n$/);
    const before = history(db).times.length;
    d = await startDaemon({ root, run, db, interval: 0.5 });
    await waitFor('3 more samples', () => history(db).times.length >= before + 3, 15_000);
    // /api/v1/history: the same samples, from the raw table at a step of 1 s (until a moment past, so both see the same).
    const until = new Date().toISOString();
    await sleep(600);
    const since = new Date(history(db).times[0] - 3600_000).toISOString();
    const res = await d.get(`/api/v1/history?name=${VM}&since=${since}&until=${until}&step=1`);
    expect(res.status, res.body).toBe(200);
    const api = JSON.parse(res.body);
    expect(api.series).toHaveLength(1);
    expect(api.series[0]).toMatchObject({ kind: 'vm', name: VM, source: 'samples' });
    const points = api.series[0].points as { time: string; start: number; samples: number }[];
    const stored = history(db).times.filter((t) => t < Date.parse(until));
    expect(points.reduce((a, p) => a + p.samples, 0)).toBe(stored.length);
    for (const p of points) expect(Date.parse(p.time)).toBe(p.start * 1000);
    // SPEC §4.1: SIGTERM or SIGINT: finish the current write, close the database, exit 0.
    expect(await d.stop('SIGINT')).toEqual({ code: 0, signal: null });
    expect(d.stderr()).toMatch(/daemon: SIGINT: stopping\n$/);
    expectOneHistory(db, 15_000);
  });

  it('loses only the sample in flight when SIGKILLed while writing it, and goes on after a restart', async () => {
    const db = join(root, 'kill.sqlite');
    let d = await startDaemon({ root, run, db, interval: 0.5, env: { SUBHOST_TEST_KILL_AT: 'daemon:insert:3' } });
    expect(await d.exited).toEqual({ code: null, signal: 'SIGKILL' });
    // Samples 1 and 2 committed; the third was written but not committed, and is gone whole.
    const x = history(db);
    expect(x.integrity).toBe('ok');
    expect(x.times.length).toBe(2);
    expect(x.hourly.samples).toBe(2);
    d = await startDaemon({ root, run, db, interval: 0.5 });
    await waitFor('3 more samples', () => history(db).times.length >= 5, 15_000);
    await d.stop();
    expectOneHistory(db, 15_000);
  });

  it('keeps a consistent database when SIGKILLed at any moment', async () => {
    const db = join(root, 'random.sqlite');
    for (let i = 0; i < 4; i++) {
      const d = await startDaemon({ root, run, db, interval: 0.2 });
      await sleep(300 + Math.floor(Math.random() * 700));
      d.child.kill('SIGKILL');
      await d.exited;
      const x = history(db);
      expect(x.integrity).toBe('ok');
      expect(x.hourly.samples).toBe(x.times.length);
    }
    expectOneHistory(db, 30_000);
  });

  it('prunes a database filled with old rows: raw after 7 days, hourly after 90, daily after 5 years', async () => {
    const db = join(root, 'old.sqlite');
    const now = Date.now();
    const day = 86400_000;
    const rec = (name: string, tMs: number, cpu: number): UsageRecord => ({
      host: 'old-host',
      kind: 'vm',
      name,
      cgroup: `/sys/fs/cgroup/vm/${name}`,
      time: new Date(tMs).toISOString(),
      cpu: { userSeconds: cpu, systemSeconds: cpu, source: 'v2' },
      memory: { currentBytes: 1000, peakBytes: 1000, anonBytes: null, fileBytes: null, source: 'v2' },
      io: { readBytes: 0, writeBytes: 0, devices: [], source: 'v2' },
      tasks: { count: 1, source: 'v2' },
      pressure: { cpu: null, memory: null, io: null, source: null },
    });
    const s = HistoryStore.open(db);
    // 'gone' ends 6 years ago; 'daily' 100 days ago; 'hourly' 10 days ago; 'raw' an hour ago.
    for (const [name, ageDays] of [['gone', 6 * 365], ['daily', 100], ['hourly', 10], ['raw', 1 / 24]] as [string, number][]) {
      for (let k = 0; k < 50; k++) s.insert([rec(name, now - ageDays * day - (50 - k) * 10_000, k)]);
    }
    s.close();
    const d = await startDaemon({ root, run, db });
    await waitFor('the prune', () => /history: pruned \d+ samples/.test(d.stderr()), 15_000);
    await d.stop();
    const h = new Database(db, { readonly: true });
    const rows = (table: string) =>
      Object.fromEntries((h.prepare(`SELECT se.name, count(*) AS n FROM ${table} t JOIN series se ON se.id = t.series_id WHERE se.host = 'old-host' GROUP BY se.name`).all() as { name: string; n: number }[]).map((r) => [r.name, r.n]));
    expect(rows('samples')).toEqual({ raw: 50 });
    expect(Object.keys(rows('hourly')).sort()).toEqual(['hourly', 'raw']);
    expect(Object.keys(rows('daily')).sort()).toEqual(['daily', 'hourly', 'raw']);
    expect((h.prepare(`SELECT name FROM series WHERE host = 'old-host' ORDER BY name`).all() as { name: string }[]).map((r) => r.name)).toEqual(['daily', 'hourly', 'raw']);
    expect((h.pragma('integrity_check') as { integrity_check: string }[])[0].integrity_check).toBe('ok');
    h.close();
  });
});
