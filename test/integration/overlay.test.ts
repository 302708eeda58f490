import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkMaster, linkExists } from '../../src/host/ip';
import { readMountinfo } from '../../src/host/mountinfo';
import { netnsExists } from '../../src/host/netns';
import { readCmdline } from '../../src/host/proc';
import { Cgroup, findCgroup2Mount } from '../../src/host/cgroupfs';
import { cli, ok } from '../helpers/cli';
import { makeTestRoot, PREFIX, removeTestRoot, testMac, testName, waitFor } from '../helpers/env';
import { createBusyboxTree, createLayerSubhost, type LayerSubhost } from '../helpers/fixtures';
import { leftoversOf } from '../helpers/leaks';
import { createBridge, deleteBridge } from '../helpers/net';
import { startFromPipe } from '../helpers/session';
import { bootAndSettle, enterSh, statusOf } from '../helpers/subhost';

/** Every file of a tree with its type, mode, size and mtime: equal snapshots mean nothing was written. */
function snapshot(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[])
    .sort()
    .map((p) => {
      const st = lstatSync(join(dir, p));
      return `${p} ${st.mode.toString(8)} ${st.size} ${st.mtimeMs}`;
    });
}

function liveMount(dir: string) {
  return readMountinfo().find((m) => m.mountPoint === join(dir, 'live'));
}

describe('overlay subhosts over a shared BASE', () => {
  const root = makeTestRoot();
  const base = join(root, 'base');
  const bridge = `${PREFIX}obr${process.pid % 10000}`;
  const MAC = testMac(1);
  let a: LayerSubhost;
  let b: LayerSubhost;
  let baseBefore: string[];
  const sh = (name: string, script: string) => enterSh(root, name, script);
  const status = (name: string) => statusOf(root, name);
  const left = (name: string) => leftoversOf(name);

  beforeAll(async () => {
    await createBridge(bridge);
    await createBusyboxTree(base);
    baseBefore = snapshot(base);
    a = await createLayerSubhost(root, testName('oa'), { base, hostname: 'over-a' });
    b = await createLayerSubhost(root, testName('ob'), { base, bridges: [`${bridge}:${MAC}`] });
  });

  afterAll(async () => {
    cli(['stop', a.name], { root });
    cli(['stop', b.name], { root });
    await deleteBridge(bridge);
    removeTestRoot(root);
  });

  it('boots with subhost-init as PID 1; writes and deletions land in root/, never in BASE', async () => {
    await bootAndSettle(root, a.name);
    const s = status(a.name);
    expect(s).toMatchObject({ state: 'running', mode: 'boot', kind: 'overlay', base, writable: join(a.dir, 'root'), hostname: 'over-a' });
    expect(readCmdline(s.pid1)).toEqual(['/bin/sh', '-c', expect.stringContaining('eval'), 'subhost-init']);
    expect(liveMount(a.dir)).toMatchObject({ fsType: 'overlay', source: `subhost-${a.name}` });

    expect(sh(a.name, 'echo from-a > /etc/who && mkdir -p /srv/data && echo x > /srv/data/f && rm /etc/group && sync').code).toBe(0);
    expect(sh(a.name, 'cat /etc/who; test -e /etc/group || echo group-gone').stdout).toBe('from-a\ngroup-gone\n');
    expect(readFileSync(join(a.dir, 'root/etc/who'), 'utf8')).toBe('from-a\n');
    expect(existsSync(join(a.dir, 'root/srv/data/f'))).toBe(true);
    // A deletion is a whiteout (a 0/0 character device) in the upper layer; BASE keeps the file.
    expect(lstatSync(join(a.dir, 'root/etc/group')).isCharacterDevice()).toBe(true);
    expect(existsSync(join(base, 'etc/group'))).toBe(true);
    // Nothing of subhost's is written into the guest.
    expect(existsSync(join(a.dir, 'root/sbin/subhost-init'))).toBe(false);
    expect(snapshot(base)).toEqual(baseBefore);
  });

  it('shows the layout in list and status', () => {
    const list = ok(['list'], { root }).stdout;
    expect(list).toMatch(new RegExp(`^${a.name}\\s+running\\s+overlay\\s+${join(a.dir, 'root')} over ${base}\\s`, 'm'));
    expect(list).toMatch(new RegExp(`^${b.name}\\s+stopped\\s+overlay\\s+${join(b.dir, 'root')} over ${base}\\s`, 'm'));
    const text = ok(['status', a.name], { root }).stdout;
    expect(text).toContain(`  base        ${base}\n`);
    expect(text).toContain(`  writable    ${join(a.dir, 'root')}\n`);
  });

  it('starts a second subhost on the same BASE at the same time, with a shell as PID 1 reading a pipe', async () => {
    const s = startFromPipe(b.name, root);
    try {
      s.write('echo started-$((40+2)) on $(hostname)\n');
      await s.expectOutput('started-42 on ' + b.name);
      const st = status(b.name);
      expect(st).toMatchObject({ state: 'running', mode: 'start', kind: 'overlay', base });
      expect(st.supervisor).toBeUndefined();
      expect(readCmdline(st.pid1)).toEqual(['/bin/sh']);
      expect(readFileSync(`/proc/${st.pid1}/cgroup`, 'utf8')).toContain(`0::/subhost/${b.name}/guest\n`);

      // enter works while it runs, and sees the same PID 1 and files.
      expect(sh(b.name, 'cat /proc/1/cmdline | tr "\\0" " "').stdout).toBe('/bin/sh ');
      s.write('echo from-b > /etc/who\n');
      await waitFor('the shell to write', () => sh(b.name, 'cat /etc/who').stdout === 'from-b\n');
      expect(sh(a.name, 'cat /etc/who').stdout).toBe('from-a\n');
      expect(sh(b.name, 'test -e /etc/group && echo group-here').stdout).toBe('group-here\n');
      expect(snapshot(base)).toEqual(baseBefore);

      // The same network as boot: netns NAME, NAME0 on the bridge, eth0 inside with the MAC.
      expect(sh(b.name, 'cat /sys/class/net/eth0/address').stdout.trim()).toBe(MAC);
      expect(linkMaster(`${b.name}0`)).toBe(bridge);
      expect(sh(b.name, 'cat /proc/mounts').stdout).toMatch(/^proc \/proc proc /m);

      s.write('echo kept > /root/kept\nexit 5\n');
      const end = await s.end();
      expect(end.code, s.stderr()).toBe(5);
      expect(s.stderr()).toBe(`${b.name}: hibernated (mounts and network kept): \`subhost start ${b.name}\` resumes it, \`subhost stop ${b.name}\` releases it\n`);
    } finally {
      s.kill();
    }
  });

  it('hibernates: no processes; mounts, netns, veth and cgroup kept, and status says so', () => {
    const st = status(b.name);
    expect(st.state).toBe('hibernated');
    expect(st.pid1).toBeUndefined();
    // What stop undoes: every step but the session's (PID 1 and the init it installed) is recorded.
    const record = JSON.parse(readFileSync(`/run/subhost/${b.name}/state.json`, 'utf8'));
    expect(record).toMatchObject({ phase: 'hibernated', mode: 'start' });
    // In the order they finished: the network chain runs beside the root's.
    expect(record.applied.map((a: { kind: string }) => a.kind).sort()).toEqual(['cgroup', 'devices', 'mount-overlay', 'netns', 'veths']);
    const kept = st.kept.map((k: { kind: string; id: string }) => `${k.kind} ${k.id}`);
    expect(kept).toEqual(expect.arrayContaining([`mount ${join(b.dir, 'live')}`, `netns ${b.name}`, `veth ${b.name}0`, `cgroup ${findCgroup2Mount()}/subhost/${b.name}`]));
    expect(kept.some((k: string) => k.startsWith('process'))).toBe(false);
    expect(liveMount(b.dir)).toBeDefined();
    expect(netnsExists(b.name)).toBe(true);
    expect(linkExists(`${b.name}0`)).toBe(true);
    const cg = new Cgroup(`${findCgroup2Mount()}/subhost/${b.name}`);
    expect(cg.exists()).toBe(true);
    expect(cg.populated()).toBe(false);
    expect(ok(['status', b.name], { root }).stdout).toContain(`  kept        mount ${join(b.dir, 'live')}  (overlay subhost-${b.name})\n`);
    expect(cli(['enter', b.name, '--', 'true'], { root }).stderr).toBe(`subhost: subhost ${b.name} is not running (it is hibernated)\n`);
    expect(cli(['boot', b.name], { root }).stderr).toMatch(/is hibernated: `subhost start .*` resumes it/);
  });

  it('resumes without re-mounting, with its files', async () => {
    const mountBefore = liveMount(b.dir)!;
    const dry = ok(['start', b.name, '--dry-run'], { root }).stdout;
    expect(dry).toMatch(new RegExp(`^start \\(resume\\) ${b.name}: 1 step\\n`));
    expect(dry).not.toContain('mount an overlay');
    const r = cli(['start', b.name], { root, input: 'cat /root/kept /etc/who; cat /sys/class/net/eth0/address\n' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`kept\nfrom-b\n${MAC}\n`);
    expect(liveMount(b.dir)).toEqual(mountBefore);
    expect(status(b.name).state).toBe('hibernated');
  });

  it('stop from hibernated releases everything and keeps the writable layer', () => {
    expect(ok(['stop', b.name], { root }).stdout).toBe(`${b.name}: stopped\n`);
    expect(left(b.name)).toEqual([]);
    expect(status(b.name).state).toBe('stopped');
    expect(readFileSync(join(b.dir, 'root/root/kept'), 'utf8')).toBe('kept\n');
    ok(['stop', a.name], { root });
    expect(left(a.name)).toEqual([]);
    expect(snapshot(base)).toEqual(baseBefore);
  });
});
