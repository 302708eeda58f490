import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { applyLimits, chooseLimits, limitsInForce, limitTargets, predictLimits } from '../../src/core/cgroups/limits';
import { Cgroup } from '../../src/host/cgroupfs';
import { CgroupSet } from '../../src/core/cgroups/subhost-cgroups';
import { statusLines } from '../../src/cli/format/format';
import { countIoOnV1 } from '../../src/core/cgroups/v1-io-accounting';
import type { SubhostInfo } from '../../src/core/inspect/info';

const all = { cpus: 1.5, memory: 2 * 1024 ** 3, pids: 512, ioWeight: 100 };

describe('limitTargets', () => {
  it('maps each limit to its cgroup v2 file, then to the v1 equivalent', () => {
    const t = limitTargets(all);
    expect(t.map((c) => c.map((x) => `${x.source}:${x.controller}:${x.writes.map((w) => `${w.file}=${w.value}`).join(',')}`))).toEqual([
      ['v2:cpu:cpu.max=150000 100000', 'v1:cpu:cpu.cfs_period_us=100000,cpu.cfs_quota_us=150000'],
      ['v2:memory:memory.max=2147483648', 'v1:memory:memory.limit_in_bytes=2147483648'],
      ['v2:pids:pids.max=512', 'v1:pids:pids.max=512'],
      ['v2:io:io.weight=default 100,io.bfq.weight=default 100', 'v1:blkio:blkio.bfq.weight=100'],
    ]);
    expect(limitTargets({})).toEqual([]);
  });
  it('keeps the quota at the kernel minimum of 1 ms per period', () => {
    expect(limitTargets({ cpus: 0.001 })[0][0].writes[0].value).toBe('1000 100000');
  });
  it("clamps IO_WEIGHT to blkio.bfq.weight's range on v1, and says so", () => {
    const [v2, v1] = limitTargets({ ioWeight: 5000 })[0];
    expect(v2.writes[0].value).toBe('default 5000');
    expect(v1.writes[0].value).toBe('1000');
    expect(v1.note).toMatch(/^IO_WEIGHT 5000 is above blkio.bfq.weight's 1-1000: 1000 written; acts on devices whose scheduler is bfq$/);
  });
});

describe('chooseLimits and predictLimits', () => {
  it('uses cgroup v2 on a pure v2 host', () => {
    const r = predictLimits(all, { v2: ['cpuset', 'cpu', 'io', 'memory', 'hugetlb', 'pids', 'rdma', 'misc'], v1: [] });
    expect(r.warnings).toEqual([]);
    expect(r.targets.map((t) => t.source)).toEqual(['v2', 'v2', 'v2', 'v2']);
  });
  it('uses the v1 equivalents on a hybrid host', () => {
    const r = predictLimits(all, { v2: ['hugetlb'], v1: ['cpu', 'cpuacct', 'memory', 'pids', 'blkio', 'devices'] });
    expect(r.targets.map((t) => `${t.source}:${t.controller}`)).toEqual(['v1:cpu', 'v1:memory', 'v1:pids', 'v1:blkio']);
  });
  it('warns for a limit neither offers, never drops it silently', () => {
    const r = chooseLimits({ pids: 5 }, () => false);
    expect(r.targets).toEqual([]);
    expect(r.warnings).toEqual(['PIDS not applied: this host offers neither cgroup v2 pids.max (pids controller) nor cgroup v1 pids.max (pids controller)']);
  });
});

describe('applyLimits writes the files of the hierarchy that has them', () => {
  const root = mkdtempSync(join(tmpdir(), 'subhost-limits-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  /** A directory with the interface files a cgroup of that kind has (plain files: the write logic, not the kernel). */
  const fakeCgroup = (name: string, files: string[]) => {
    const d = join(root, name);
    mkdirSync(d, { recursive: true });
    for (const f of files) writeFileSync(join(d, f), 'max\n');
    return new Cgroup(d);
  };

  it('on a pure v2 host: cpu.max, memory.max, pids.max, io.weight', () => {
    const v2 = fakeCgroup('pure', ['cgroup.procs', 'cpu.max', 'memory.max', 'pids.max', 'io.weight']);
    const { applied, warnings } = applyLimits(new CgroupSet(v2, []), all);
    expect(warnings).toEqual([]);
    expect(applied.map((a) => `${a.variable} ${a.source}`)).toEqual(['CPUS v2', 'MEMORY v2', 'PIDS v2', 'IO_WEIGHT v2']);
    expect(['cpu.max', 'memory.max', 'pids.max', 'io.weight'].map((f) => readFileSync(join(v2.path, f), 'utf8'))).toEqual(['150000 100000', '2147483648', '512', 'default 100']);
    expect(applied[0].files).toEqual([{ path: join(v2.path, 'cpu.max'), value: '150000 100000' }]);
    expect(limitsInForce(applied)[1].files[0].value).toBe('2147483648');
    // BFQ not loaded: no io.bfq.weight, and IO_WEIGHT is still applied (io.weight).
    expect(applied[3].files.map((f) => f.path)).toEqual([join(v2.path, 'io.weight')]);
  });

  it('on a pure v2 host with BFQ loaded: IO_WEIGHT also in io.bfq.weight, clamped to its 1-1000', () => {
    const v2 = fakeCgroup('pure-bfq', ['cgroup.procs', 'io.weight', 'io.bfq.weight']);
    const { applied } = applyLimits(new CgroupSet(v2, []), { ioWeight: 5000 });
    expect(applied[0].files).toEqual([
      { path: join(v2.path, 'io.weight'), value: 'default 5000' },
      { path: join(v2.path, 'io.bfq.weight'), value: 'default 1000' },
    ]);
    expect(readFileSync(join(v2.path, 'io.bfq.weight'), 'utf8')).toBe('default 1000');
  });

  it('on a hybrid host: the v1 files, and a warning for what no hierarchy has', () => {
    const v2 = fakeCgroup('hybrid-v2', ['cgroup.procs', 'cpu.stat']);
    const cpu = fakeCgroup('hybrid-cpu', ['cgroup.procs', 'cpu.cfs_period_us', 'cpu.cfs_quota_us']);
    const memory = fakeCgroup('hybrid-memory', ['cgroup.procs', 'memory.limit_in_bytes']);
    const set = new CgroupSet(v2, [
      { controllers: ['cpu'], cgroup: cpu },
      { controllers: ['memory'], cgroup: memory },
    ]);
    const { applied, warnings } = applyLimits(set, all);
    expect(applied.map((a) => `${a.variable} ${a.source} ${a.controller}`)).toEqual(['CPUS v1 cpu', 'MEMORY v1 memory']);
    expect(readFileSync(join(cpu.path, 'cpu.cfs_quota_us'), 'utf8')).toBe('150000');
    expect(readFileSync(join(memory.path, 'memory.limit_in_bytes'), 'utf8')).toBe('2147483648');
    expect(warnings.map((w) => w.split(':')[0])).toEqual(['PIDS not applied', 'IO_WEIGHT not applied']);
  });
});

describe('status shows the limits in force', () => {
  const info: SubhostInfo = {
    name: 'web1',
    state: 'running',
    kind: 'disk',
    disks: [],
    interfaces: [],
    cgroup: '/sys/fs/cgroup/subhost/web1',
    limits: [
      { variable: 'CPUS', source: 'v2', controller: 'cpu', files: [{ path: '/sys/fs/cgroup/subhost/web1/cpu.max', value: '150000 100000' }] },
      { variable: 'MEMORY', source: 'v1', controller: 'memory', files: [{ path: '/sys/fs/cgroup/memory/subhost/web1/memory.limit_in_bytes', value: '2147479552' }] },
    ],
    warnings: ['PIDS not applied: no'],
  };
  it('with the file, the value the kernel has, and the hierarchy', () => {
    const lines = statusLines(info);
    expect(lines).toContain('  limit       CPUS: cpu.max=150000 100000 (cgroup v2 cpu)');
    expect(lines).toContain('  limit       MEMORY: memory.limit_in_bytes=2147479552 (cgroup v1 memory)');
    expect(lines).toContain('  warning     PIDS not applied: no');
  });
});

describe('countIoOnV1', () => {
  const root = mkdtempSync(join(tmpdir(), 'subhost-io-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const dirWith = (name: string, files: string[]) => {
    const d = join(root, name);
    mkdirSync(d, { recursive: true });
    for (const f of files) writeFileSync(join(d, f), '');
    return new Cgroup(d);
  };

  it('writes a no-limit rule per loop device into v1 blkio, where cgroup2 has no io.stat', async () => {
    const blkio = dirWith('blkio', ['blkio.throttle.read_bps_device']);
    const r = await countIoOnV1(new CgroupSet(dirWith('v2', ['cpu.stat']), [{ controllers: ['blkio'], cgroup: blkio }]), ['7:3']);
    expect(r).toEqual({ counted: ['7:3'], warnings: [] });
    expect(readFileSync(join(blkio.path, 'blkio.throttle.read_bps_device'), 'utf8')).toBe('7:3 0');
  });
  it('does nothing where cgroup2 counts IO itself', async () => {
    const blkio = dirWith('blkio2', ['blkio.throttle.read_bps_device']);
    expect(await countIoOnV1(new CgroupSet(dirWith('v2io', ['io.stat']), [{ controllers: ['blkio'], cgroup: blkio }]), ['7:3'])).toEqual({ counted: [], warnings: [] });
    expect(readFileSync(join(blkio.path, 'blkio.throttle.read_bps_device'), 'utf8')).toBe('');
  });
  it('warns, and does not fail, when the kernel refuses', async () => {
    const blkio = dirWith('blkio3', []);
    mkdirSync(join(blkio.path, 'blkio.throttle.read_bps_device'));
    const r = await countIoOnV1(new CgroupSet(dirWith('v2b', []), [{ controllers: ['blkio'], cgroup: blkio }]), ['7:9']);
    expect(r.counted).toEqual([]);
    expect(r.warnings).toEqual([expect.stringMatching(/^IO on device 7:9 is not counted \(cgroup v1 blk-throttle refused it\): writing "7:9 0" to .*EISDIR/)]);
  });
});
