import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/core/config/validate';
import { imagesOf, imageFolders, layoutFor } from '../../src/core/storage/layout';
import { buildBootPlan, buildResumePlan, buildStartPlan } from '../../src/core/plan/boot-plan';
import { formatPlan } from '../../src/core/plan/types';
import { Paths } from '../../src/core/state/paths';
import type { StateRecord } from '../../src/core/state/records';

const paths = new Paths('/opt/sub', '/run/subhost');
const cfg = (raw: Record<string, string | string[]>) => validateConfig('web1', raw, '/opt/sub/web1');
const overlay = cfg({ BASE: '/srv/base', BRIDGES: ['br0:02:00:00:00:00:01'] });
const directory = cfg({});
const env = { deviceControl: 'cgroup-v1+bpf' as const, cgroupLayout: { v2: [], v1: ['cpu', 'cpuacct', 'memory', 'pids', 'blkio', 'devices'] } };
const facts = (c = overlay, image = false) => ({ paths, tables: new Map(), layout: layoutFor(c, paths, image), bootId: 'b1', graceSeconds: 10, ...env });
const kinds = (p: { steps: { kind: string }[] }) => p.steps.map((s) => s.kind);
const shell = { terminal: 'tty' as const, term: 'xterm' };

describe('layoutFor', () => {
  it('is disk with DISKS (NAME.img does not matter), writable on the first image', () => {
    const l = layoutFor(cfg({ DISKS: ['vda:1:/d/a.raw'] }), paths, true);
    expect(l).toEqual({ kind: 'disk', live: '/opt/sub/web1/live', writable: '/d/a.raw' });
  });

  it('is an overlay of root/ (work dir work/) over BASE', () => {
    expect(layoutFor(overlay, paths, false)).toEqual({ kind: 'overlay', live: '/opt/sub/web1/live', writable: '/opt/sub/web1/root', work: '/opt/sub/web1/work', base: '/srv/base' });
  });

  it('takes root/ and work/ from NAME.img on mnt when it is there', () => {
    const l = layoutFor(overlay, paths, true);
    expect(l).toMatchObject({ kind: 'overlay', writable: '/opt/sub/web1/mnt/root', work: '/opt/sub/web1/mnt/work', imageFile: '/opt/sub/web1/web1.img', mnt: '/opt/sub/web1/mnt' });
    expect(imageFolders(l)).toEqual(['root', 'work']);
    expect(imagesOf(overlay, l)).toEqual(['/opt/sub/web1/web1.img']);
  });

  it('is a directory without DISKS and BASE; its image needs only root/', () => {
    expect(layoutFor(directory, paths, false)).toEqual({ kind: 'directory', live: '/opt/sub/web1/live', writable: '/opt/sub/web1/root' });
    const l = layoutFor(directory, paths, true);
    expect(l).toMatchObject({ kind: 'directory', writable: '/opt/sub/web1/mnt/root', imageFile: '/opt/sub/web1/web1.img' });
    expect(l.work).toBeUndefined();
    expect(imageFolders(l)).toEqual(['root']);
  });
});

describe('plans by layout', () => {
  it('overlay: mount-overlay first, then what every layout shares; no device nodes', () => {
    const p = buildBootPlan(overlay, facts());
    expect(kinds(p)).toEqual(['mount-overlay', 'cgroup', 'devices', 'netns', 'veths', 'start-init']);
    expect(p.steps[0].params).toEqual({ source: 'subhost-web1', base: '/srv/base', upper: '/opt/sub/web1/root', work: '/opt/sub/web1/work', target: '/opt/sub/web1/live' });
    expect(p.steps[5].params).toMatchObject({ live: '/opt/sub/web1/live', devices: [], cgroup: 'subhost/web1', netns: 'web1' });
  });

  it('overlay with NAME.img: the image is mounted on mnt first and holds the upper layer', () => {
    const p = buildBootPlan(overlay, facts(overlay, true));
    expect(kinds(p).slice(0, 2)).toEqual(['mount-image', 'mount-overlay']);
    expect(p.steps[0].params).toEqual({ image: '/opt/sub/web1/web1.img', target: '/opt/sub/web1/mnt', folders: ['root', 'work'] });
    expect(p.steps[1].params).toMatchObject({ upper: '/opt/sub/web1/mnt/root', work: '/opt/sub/web1/mnt/work' });
  });

  it('directory: root/ (or mnt/root) is rbind-mounted on live', () => {
    expect(buildBootPlan(directory, facts(directory)).steps[0]).toMatchObject({ kind: 'bind-root', params: { source: '/opt/sub/web1/root', target: '/opt/sub/web1/live' } });
    const p = buildBootPlan(directory, facts(directory, true));
    expect(kinds(p).slice(0, 3)).toEqual(['mount-image', 'bind-root', 'cgroup']);
    expect(p.steps[1].params).toEqual({ source: '/opt/sub/web1/mnt/root', target: '/opt/sub/web1/live' });
  });

  it('start: the same steps as boot up to PID 1, which is a shell on the terminal', () => {
    const boot = buildBootPlan(overlay, facts());
    const start = buildStartPlan(overlay, { ...facts(), ...shell });
    expect(start.steps.slice(0, -1)).toEqual(boot.steps.slice(0, -1));
    expect(start.steps.at(-1)).toMatchObject({ kind: 'start-shell', params: { terminal: 'tty', term: 'xterm', live: '/opt/sub/web1/live', hostname: 'web1', devices: [] } });
    expect(start.steps.at(-1)!.describe).toContain('on this terminal, through a new pseudo-terminal');
    expect(buildStartPlan(overlay, { ...facts(), terminal: 'pipe', term: 'dumb' }).steps.at(-1)!.describe).toContain('reading commands from standard input');
  });

  it('start of disk images passes the device nodes to the shell too', () => {
    const disk = cfg({ DISKS: ['vda:1:/d/a.raw'] });
    const tables = new Map([['/d/a.raw', { scheme: 'mbr' as const, partitions: [{ index: 1, offset: 512, size: 1024 }] }]]);
    const p = buildStartPlan(disk, { paths, tables, ...env, ...shell });
    expect(kinds(p)).toEqual(['loop-attach', 'partition', 'mount-root', 'cgroup', 'io-accounting', 'devices', 'netns', 'start-shell']);
    expect(p.steps.at(-1)!.params).toMatchObject({ devices: [{ node: 'vda1', from: 'disk:vda1' }] });
  });

  it('resume: only PID 1 starts again, in the recorded live', () => {
    const record = { name: 'web1', config: overlay, layout: layoutFor(overlay, new Paths('/elsewhere', '/run/subhost'), false) } as StateRecord;
    const p = buildResumePlan(record, shell, paths);
    expect(kinds(p)).toEqual(['start-shell']);
    expect(p.steps[0].params).toMatchObject({ live: '/elsewhere/web1/live' });
    expect(formatPlan(p).split('\n')[0]).toBe('start (resume) web1: 1 step');
  });
});
