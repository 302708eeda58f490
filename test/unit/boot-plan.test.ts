import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/core/config/validate';
import { buildBootPlan } from '../../src/core/plan/boot-plan';
import { sameExtent } from '../../src/core/steps/disks';
import type { PartitionTable } from '../../src/core/storage/partition-table';
import { formatPlan } from '../../src/core/plan/types';
import { Paths } from '../../src/core/state/paths';

const paths = new Paths('/opt/sub', '/run/subhost');
/** A pure cgroup v2 host, and a hybrid one like the test machine (controllers on v1). */
const pureV2 = { v2: ['cpuset', 'cpu', 'io', 'memory', 'hugetlb', 'pids'], v1: [] };
const hybrid = { v2: ['hugetlb'], v1: ['cpu', 'cpuacct', 'memory', 'pids', 'blkio', 'devices'] };
const tables = new Map([
  ['/d/root.raw', { scheme: 'mbr' as const, partitions: [{ index: 1, offset: 1048576, size: 1000 }] }],
  ['/d/data.raw', { scheme: 'none' as const, partitions: [] }],
]);

describe('buildBootPlan', () => {
  const cfg = validateConfig('web1', { DISKS: ['vda:1:/d/root.raw', 'vdb:0:/d/data.raw'], BRIDGES: ['br0:02:00:00:00:00:01'], HOSTNAME: 'web', MEMORY: '1G' }, '/opt/sub/web1');
  const plan = buildBootPlan(cfg, { paths, tables, bootId: 'b1', graceSeconds: 10, deviceControl: 'cgroup-v1+bpf', cgroupLayout: pureV2 });
  const step = (kind: string) => plan.steps.find((s) => s.kind === kind)!;

  it('has the steps of SPEC §3 in order', () => {
    expect(plan.steps.map((s) => s.kind)).toEqual(['loop-attach', 'loop-attach', 'partition', 'partition', 'mount-root', 'cgroup', 'devices', 'netns', 'veths', 'start-init']);
  });

  it('takes partition offsets from the table and mounts the first disk on live', () => {
    expect(plan.steps[2].params).toMatchObject({ image: '/d/root.raw', part: 1, node: 'vda1', offset: 1048576, size: 1000, loop: 'loop:/d/root.raw' });
    expect(plan.steps[3].params).toMatchObject({ part: 0, node: 'vdb' });
    expect(plan.steps[4].params).toEqual({ source: 'disk:vda1', target: '/opt/sub/web1/live' });
  });

  it('hands the root\'s probed type to mount-root only when it was probed in the partition\'s own bytes', () => {
    const probed = (rootType: { offset: number; size: number; type: string }) =>
      buildBootPlan(cfg, { paths, tables: new Map<string, PartitionTable>([...tables, ['/d/root.raw', { ...tables.get('/d/root.raw')!, rootType }]]), bootId: 'b1', graceSeconds: 10, deviceControl: 'bpf', cgroupLayout: pureV2 }).steps.find((s) => s.kind === 'mount-root')!;
    expect(probed({ offset: 1048576, size: 1000, type: 'ext4' })).toMatchObject({ params: { source: 'disk:vda1', probedType: 'ext4' }, describe: 'mount /dev/vda1 (/d/root.raw) on /opt/sub/web1/live as ext4' });
    expect(probed({ offset: 0, size: 0, type: 'ext4' }).params).not.toHaveProperty('probedType');
    expect(probed({ offset: 1048576, size: 2000, type: 'ext4' }).params).not.toHaveProperty('probedType');
  });

  it('forces offset loops without partition scan when asked (SUBHOST_FORCE_OFFSET_LOOPS=1), and only then', () => {
    expect(plan.steps[0].params).toEqual({ image: '/d/root.raw' });
    expect(plan.steps[2].params).not.toHaveProperty('offsetLoop');
    const forced = buildBootPlan(cfg, { paths, tables, bootId: 'b1', graceSeconds: 10, deviceControl: 'bpf', cgroupLayout: pureV2, offsetLoops: true });
    expect(forced.steps[0]).toMatchObject({ params: { image: '/d/root.raw', partscan: false }, describe: 'attach /d/root.raw to a loop device' });
    expect(forced.steps[2]).toMatchObject({
      params: { part: 1, offset: 1048576, size: 1000, offsetLoop: true },
      describe: 'attach partition 1 of /d/root.raw for /dev/vda1 to a loop at offset 1048576 (1000 bytes), as forced by SUBHOST_FORCE_OFFSET_LOOPS',
    });
    // Partition 0 is the whole image's loop either way.
    expect(forced.steps[3].describe).toBe('use the whole of /d/data.raw as /dev/vdb');
  });

  it('names host links NAME0 with an fe: MAC and the alias that marks them', () => {
    expect(step('veths').params).toEqual({
      netns: 'web1',
      alias: 'subhost:web1',
      links: [{ host: 'web10', inside: 'eth0', mac: '02:00:00:00:00:01', hostMac: 'fe:00:00:00:00:01', bridge: 'br0' }],
    });
  });

  it('hands the devices, host name and cgroup to PID 1', () => {
    expect(step('start-init').params).toMatchObject({
      cgroup: 'subhost/web1',
      hostname: 'web',
      devices: [
        { node: 'vda1', from: 'disk:vda1' },
        { node: 'vdb', from: 'disk:vdb' },
      ],
      bootId: 'b1',
    });
  });

  it('prints as numbered lines', () => {
    const text = formatPlan(plan);
    expect(text.split('\n')[0]).toBe('boot web1: 10 steps');
    expect(text).toContain('  6. create cgroup subhost/web1 with memory.max=1073741824 (v2) [at once]\n');
    expect(text).toContain('  8. create network namespace web1 with lo up (alias subhost:web1) [at once]\n');
    expect(text).toMatch(/ 10\. start subhost-init as PID 1 .* \[after all above\]$/);
    expect(text).toContain('veth web10 on bridge br0 <-> eth0 02:00:00:00:00:01');
  });

  it('attaches an image used twice only once, and has no veth step without BRIDGES', () => {
    const two = validateConfig('a', { DISKS: ['vda:1:/d/root.raw', 'vdb:1:/d/root.raw'] }, '/opt/sub/a');
    const p = buildBootPlan(two, { paths, tables, bootId: 'x', graceSeconds: 1, deviceControl: 'cgroup-v1+bpf', cgroupLayout: pureV2 });
    expect(p.steps.filter((s) => s.kind === 'loop-attach')).toHaveLength(1);
    expect(p.steps.some((s) => s.kind === 'veths')).toBe(false);
  });

  it('counts IO on the loop devices in v1 blkio on a hybrid host, beside PID 1, and not on pure v2', () => {
    expect(plan.steps.some((s) => s.kind === 'io-accounting')).toBe(false);
    const h = buildBootPlan(cfg, { paths, tables, bootId: 'b1', graceSeconds: 10, deviceControl: 'cgroup-v1+bpf', cgroupLayout: hybrid });
    const io = h.steps.find((s) => s.kind === 'io-accounting')!;
    expect(io.params).toEqual({ path: 'subhost/web1', loops: ['loop:/d/root.raw', 'loop:/d/data.raw', 'disk:vda1', 'disk:vdb'] });
    // Once the root is mounted: the first rule's queue freeze would stall the mount.
    expect(io.after).toEqual(['cgroup', 'loop:/d/root.raw', 'loop:/d/data.raw', 'disk:vda1', 'disk:vdb', 'root']);
    expect(h.steps.find((s) => s.kind === 'start-init')!.after).not.toContain('io');
  });

  it('plans each limit in cgroup v2 on a pure v2 host, in its v1 equivalent on a hybrid one, and warns where neither is', () => {
    const all = validateConfig('web1', { DISKS: ['vda:1:/d/root.raw'], CPUS: '1.5', MEMORY: '1G', PIDS: '512', IO_WEIGHT: '200' }, '/opt/sub/web1');
    const describe = (cgroupLayout: { v2: string[]; v1: string[] }) => buildBootPlan(all, { paths, tables, bootId: 'b', graceSeconds: 1, deviceControl: 'cgroup-v1+bpf', cgroupLayout }).steps.find((s) => s.kind === 'cgroup')!.describe;
    expect(describe(pureV2)).toBe('create cgroup subhost/web1 with cpu.max=150000 100000 (v2), memory.max=1073741824 (v2), pids.max=512 (v2), io.weight=default 200 io.bfq.weight=default 200 if present (v2)');
    expect(describe(hybrid)).toBe(
      'create cgroup subhost/web1 with cpu.cfs_period_us=100000 cpu.cfs_quota_us=150000 (v1), memory.limit_in_bytes=1073741824 (v1), pids.max=512 (v1), blkio.bfq.weight=200 (v1)',
    );
    expect(describe({ v2: ['memory'], v1: ['cpu'] })).toBe(
      'create cgroup subhost/web1 with cpu.cfs_period_us=100000 cpu.cfs_quota_us=150000 (v1), memory.max=1073741824 (v2)' +
        '; PIDS not applied: this host offers neither cgroup v2 pids.max (pids controller) nor cgroup v1 pids.max (pids controller)' +
        '; IO_WEIGHT not applied: this host offers neither cgroup v2 io.weight (io controller) nor cgroup v1 blkio.bfq.weight (blkio controller)',
    );
  });
});

describe('what the boot plan may run at the same time', () => {
  const cfg = validateConfig('web1', { DISKS: ['vda:1:/d/root.raw', 'vdb:0:/d/data.raw'], BRIDGES: ['br0'] }, '/opt/sub/web1');
  const plan = buildBootPlan(cfg, { paths, tables, bootId: 'b', graceSeconds: 1, deviceControl: 'cgroup-v1+bpf', cgroupLayout: pureV2 });
  const after = (id: string) => plan.steps.find((s) => s.id === id)!.after;

  it('runs each disk chain and the network at once, and every step only after what it uses', () => {
    expect(after('loop:/d/root.raw')).toEqual([]);
    expect(after('loop:/d/data.raw')).toEqual([]);
    expect(after('disk:vda1')).toEqual(['loop:/d/root.raw']);
    expect(after('root')).toEqual(['disk:vda1']);
    expect(after('netns')).toEqual([]);
    expect(after('veths')).toEqual(['netns']);
    expect(after('cgroup')).toEqual([]);
    expect(after('devices')).toEqual(expect.arrayContaining(['cgroup', 'disk:vda1', 'disk:vdb']));
    expect(after('start-init')).toEqual(plan.steps.filter((s) => s.id !== 'start-init').map((s) => s.id));
  });
});

describe('sameExtent', () => {
  it('is true only for a kernel partition at exactly the offset and size the checks probed', () => {
    expect(sameExtent({ start: 2048, sectors: 63488 }, { offset: 2048 * 512, size: 63488 * 512 })).toBe(true);
    expect(sameExtent({ start: 2048, sectors: 63487 }, { offset: 2048 * 512, size: 63488 * 512 })).toBe(false);
    expect(sameExtent({ start: 4096, sectors: 63488 }, { offset: 2048 * 512, size: 63488 * 512 })).toBe(false);
    expect(sameExtent(undefined, { offset: 0, size: 0 })).toBe(false);
  });
});
