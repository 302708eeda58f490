import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/core/config/validate';
import { buildBootPlan } from '../../src/core/plan/boot-plan';
import { formatPlan } from '../../src/core/plan/types';
import { Paths } from '../../src/core/paths';

const paths = new Paths('/opt/sub', '/run/subhost');
const tables = new Map([
  ['/d/root.raw', { scheme: 'mbr' as const, partitions: [{ index: 1, offset: 1048576, size: 1000 }] }],
  ['/d/data.raw', { scheme: 'none' as const, partitions: [] }],
]);

describe('buildBootPlan', () => {
  const cfg = validateConfig('web1', { DISKS: ['vda:1:/d/root.raw', 'vdb:0:/d/data.raw'], BRIDGES: ['br0:02:00:00:00:00:01'], HOSTNAME: 'web', MEMORY: '1G' }, '/opt/sub/web1');
  const plan = buildBootPlan(cfg, { paths, tables, bootId: 'b1', graceSeconds: 10, deviceControl: 'cgroup-v1' });
  const step = (kind: string) => plan.steps.find((s) => s.kind === kind)!;

  it('has the steps of SPEC §3 in order', () => {
    expect(plan.steps.map((s) => s.kind)).toEqual(['loop-attach', 'loop-attach', 'partition', 'partition', 'mount-root', 'cgroup', 'devices', 'netns', 'veths', 'install-init', 'start-init']);
  });

  it('takes partition offsets from the table and mounts the first disk on live', () => {
    expect(plan.steps[2].params).toMatchObject({ image: '/d/root.raw', part: 1, node: 'vda1', offset: 1048576, size: 1000, loop: 'loop:/d/root.raw' });
    expect(plan.steps[3].params).toMatchObject({ part: 0, node: 'vdb' });
    expect(plan.steps[4].params).toEqual({ source: 'disk:vda1', target: '/opt/sub/web1/live' });
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
    expect(text.split('\n')[0]).toBe('boot web1: 11 steps');
    expect(text).toContain('  6. create cgroup subhost/web1 with memory.max=1073741824');
    expect(text).toContain('veth web10 on bridge br0 <-> eth0 02:00:00:00:00:01');
  });

  it('attaches an image used twice only once, and has no veth step without BRIDGES', () => {
    const two = validateConfig('a', { DISKS: ['vda:1:/d/root.raw', 'vdb:1:/d/root.raw'] }, '/opt/sub/a');
    const p = buildBootPlan(two, { paths, tables, bootId: 'x', graceSeconds: 1, deviceControl: 'cgroup-v1' });
    expect(p.steps.filter((s) => s.kind === 'loop-attach')).toHaveLength(1);
    expect(p.steps.some((s) => s.kind === 'veths')).toBe(false);
  });
});
