import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Cgroup } from '../../src/host/cgroupfs';
import { CgroupSet } from '../../src/core/cgroups/subhost-cgroups';
import { CgroupReader, ioTotals, readUsage } from '../../src/core/usage/read';
import { formatPrometheus, METRICS } from '../../src/core/usage/metrics';
import type { UsageRecord } from '../../src/core/usage/record';
import { usageTable } from '../../src/cli/format/usage-table';

const dir = (d: string) => join(__dirname, 'fixtures/cgroup', d);
const T = '2026-01-02T03:04:05.000Z';
const noLoops = () => false;

/** The captured files as cgroup directories: a pure v2 cgroup, and a hybrid host's v2 + v1 pair. */
const pure = new CgroupSet(new Cgroup(dir('v2-pure/cap')), []);
const hybrid = new CgroupSet(new Cgroup(dir('v2-hybrid/cap')), [{ controllers: ['cpu', 'cpuacct', 'memory', 'pids', 'blkio'], cgroup: new Cgroup(dir('v1/cap')) }]);

describe('readUsage on a pure cgroup v2 host', () => {
  const r = readUsage({ kind: 'subhost', name: 'web1', set: pure }, 'h1', T, noLoops);

  it('takes every figure from cgroup2', () => {
    expect(r).toEqual({
      host: 'h1',
      kind: 'subhost',
      name: 'web1',
      cgroup: dir('v2-pure/cap'),
      time: T,
      cpu: { userSeconds: 12.014851, systemSeconds: 1.062019, source: 'v2' },
      memory: { currentBytes: 20795392, peakBytes: 40271872, anonBytes: 20316160, fileBytes: 0, source: 'v2' },
      io: { readBytes: 6553600, writeBytes: 13107200, devices: [{ device: '1:0', readBytes: 6553600, writeBytes: 13107200, counted: true }], source: 'v2' },
      tasks: { count: 4, source: 'v2' },
      pressure: {
        cpu: { some: { avg10: 83.52, totalSeconds: 25.035549 }, full: { avg10: 45.66, totalSeconds: 13.087304 } },
        memory: { some: { avg10: 0, totalSeconds: 0 }, full: { avg10: 0, totalSeconds: 0 } },
        io: { some: { avg10: 0, totalSeconds: 0 }, full: { avg10: 0, totalSeconds: 0 } },
        source: 'v2',
      },
    });
  });
});

describe('readUsage on a hybrid host', () => {
  const r = readUsage({ kind: 'vm', name: 'vm1', set: hybrid }, 'h1', T, (d) => d.startsWith('7:'));

  it('reads CPU and pressure from cgroup2, which has them without controllers', () => {
    expect(r.cpu).toEqual({ userSeconds: 0.660599, systemSeconds: 0.116109, source: 'v2' });
    expect(r.pressure.source).toBe('v2');
    expect(r.pressure.io?.some.totalSeconds).toBeGreaterThan(0);
  });

  it('reads memory, IO and tasks from the v1 equivalents, and says so', () => {
    expect(r.memory).toEqual({ currentBytes: 626688, peakBytes: 40488960, anonBytes: 110592, fileBytes: 24576, source: 'v1' });
    expect(r.io).toEqual({ readBytes: 6553600, writeBytes: 13107200, devices: [{ device: '7:0', readBytes: 6553600, writeBytes: 13107200, counted: true }], source: 'v1' });
    expect(r.tasks).toEqual({ count: 1, source: 'v1' });
  });

  it('falls back to cpuacct when cgroup2 has no cpu.stat', () => {
    const noCpuStat = new CgroupSet(new Cgroup(dir('v2-pure/nonexistent')), hybrid.v1);
    expect(readUsage({ kind: 'vm', name: 'x', set: noCpuStat }, 'h', T, noLoops).cpu).toEqual({ userSeconds: 0.659976535, systemSeconds: 0.116, source: 'v1' });
  });

  it('says "not counted" (null), not zero, when blk-throttle listed no device', () => {
    const uncounted = new CgroupSet(new Cgroup(dir('v2-hybrid/cap')), [{ controllers: ['blkio'], cgroup: new Cgroup(dir('v1-uncounted/cap')) }]);
    expect(readUsage({ kind: 'vm', name: 'x', set: uncounted }, 'h', T, noLoops).io).toEqual({ readBytes: null, writeBytes: null, devices: [], source: 'v1' });
  });

  it('has null figures and no source where neither hierarchy has the file', () => {
    const none = readUsage({ kind: 'vm', name: 'x', set: new CgroupSet(new Cgroup(dir('nonexistent')), []) }, 'h', T, noLoops);
    expect(none.memory).toEqual({ currentBytes: null, peakBytes: null, anonBytes: null, fileBytes: null, source: null });
    expect(none.io.source).toBeNull();
    expect(none.tasks).toEqual({ count: null, source: null });
    expect(none.pressure).toEqual({ cpu: null, memory: null, io: null, source: null });
  });
});

describe('ioTotals', () => {
  const devices = [
    { device: '7:3', readBytes: 100, writeBytes: 200 },
    { device: '254:0', readBytes: 90, writeBytes: 210 },
    { device: '259:1', readBytes: 5, writeBytes: 5 },
  ];
  it('counts IO through loop devices once: on the loop devices, not again on the disk under them', () => {
    const t = ioTotals(devices, (d) => d === '7:3' || d === '259:1');
    expect(t.readBytes).toBe(105);
    expect(t.writeBytes).toBe(205);
    expect(t.devices.map((d) => d.counted)).toEqual([true, false, true]);
  });
  it('counts every device where there is no loop device (a VM on its disks)', () => {
    expect(ioTotals(devices, () => false)).toMatchObject({ readBytes: 195, writeBytes: 415 });
  });
});

function record(over: Partial<UsageRecord> = {}): UsageRecord {
  return { ...readUsage({ kind: 'subhost', name: 'web1', set: pure }, 'host-a', T, noLoops), ...over };
}

describe('the Prometheus metrics', () => {
  it('are declared once each, named by the conventions: base unit suffix, _total on counters only', () => {
    const names = METRICS.map((m) => m.name);
    expect(new Set(names).size).toBe(names.length);
    for (const m of METRICS) {
      expect(m.name).toMatch(/^subhost_[a-z0-9_]+$/);
      expect(m.name.endsWith('_total')).toBe(m.type === 'counter');
      if (m.unit) expect(m.name.replace(/_total$/, '').endsWith(`_${m.unit}`)).toBe(true);
      expect(m.help).toMatch(/\.$/);
    }
  });

  it('print HELP and TYPE once per metric and host, kind and name on every sample', () => {
    const text = formatPrometheus([record(), record({ kind: 'vm', name: 'vm"1\\x' })]);
    const lines = text.trimEnd().split('\n');
    for (const m of METRICS) {
      expect(lines.filter((l) => l === `# TYPE ${m.name} ${m.type}`)).toHaveLength(1);
      expect(lines.filter((l) => l.startsWith(`# HELP ${m.name} `))).toHaveLength(1);
    }
    const samples = lines.filter((l) => !l.startsWith('#'));
    expect(samples.length).toBe(2 * 21);
    for (const s of samples) expect(s).toMatch(/^subhost_\w+\{host="host-a",kind="(subhost|vm)",name="[^\n]+"(,\w+="\w+")*\} [0-9.e+-]+$/);
    expect(text).toContain('subhost_cpu_seconds_total{host="host-a",kind="subhost",name="web1",mode="user"} 12.014851\n');
    expect(text).toContain('subhost_io_bytes_total{host="host-a",kind="vm",name="vm\\"1\\\\x",op="write"} 13107200\n');
    expect(text).toContain('subhost_pressure_waiting_avg10_ratio{host="host-a",kind="subhost",name="web1",resource="cpu"} 0.8352\n');
  });

  it('leave out a sample the host does not have, never print it as zero', () => {
    const r = record({ io: { readBytes: null, writeBytes: null, devices: [], source: 'v1' } });
    expect(formatPrometheus([r])).not.toMatch(/^subhost_io_bytes_total\{/m);
  });
});

describe('the usage table', () => {
  it('has the host name in every row', () => {
    const lines = usageTable([record(), record({ kind: 'vm', name: 'vm1', io: { readBytes: null, writeBytes: null, devices: [], source: null } })]);
    expect(lines[0]).toMatch(/^HOST\s+KIND\s+NAME\s+CPU-USER\s+CPU-SYS\s+MEM\s+MEM-PEAK\s+IO-READ\s+IO-WRITE\s+TASKS\s+PSI-CPU\s+PSI-MEM\s+PSI-IO$/);
    expect(lines[1]).toMatch(/^host-a\s+subhost\s+web1\s+12\.01s\s+1\.06s\s+19\.8M\s+38\.4M\s+6\.3M\s+12\.5M\s+4\s+83\.52%\s+0\.00%\s+0\.00%$/);
    expect(lines[2]).toMatch(/^host-a\s+vm\s+vm1\s.*\s-\s+-\s+4\s/);
  });
});

describe('CgroupReader', () => {
  it('does not take a cgroup removed meanwhile for its siblings lacking a file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'subhost-reader-'));
    try {
      for (const n of ['a', 'b']) {
        mkdirSync(join(dir, n));
        writeFileSync(join(dir, n, 'cgroup.procs'), '');
        writeFileSync(join(dir, n, 'cpu.stat'), 'usage_usec 1\n');
      }
      rmSync(join(dir, 'a'), { recursive: true });
      const reader = new CgroupReader();
      expect(reader.read(new Cgroup(join(dir, 'a')), 'cpu.stat')).toBeUndefined();
      expect(reader.read(new Cgroup(join(dir, 'b')), 'cpu.stat')).toBe('usage_usec 1\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
