import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeDiskImage } from '../fixtures/image/disk-image';
import { findCgroup2Mount } from '../../src/host/cgroupfs';
import { findV1Hierarchies } from '../../src/host/cgroup-v1';
import { beforeAll, describe, expect, it } from 'vitest';
import { linkMaster } from '../../src/host/ip';
import { blockNumbers, listLoops } from '../../src/host/loop';
import { readMountinfo } from '../../src/host/mountinfo';
import { listPids, parseStat, readCmdline } from '../../src/host/proc';
import { cli, ok } from '../helpers/cli';
import { requireInLane } from '../helpers/lane';
import { testMac, waitFor } from '../helpers/env';
import type { DiskSubhost } from '../helpers/fixtures';
import { inNetns } from '../helpers/net';
import { useBootedSubhost, useDiskSubhost } from '../helpers/booted';
import { leftoversOf } from '../helpers/leaks';
import { bootAndSettle, statusOf } from '../helpers/subhost';
import { run } from '../../src/host/exec';
import { readFileOr } from '../../src/host/read-file';

const MAC = testMac(0x2a);

describe('boot a partitioned disk image', () => {
  const b = useBootedSubhost('b', { peerCidr: '10.213.0.1/24', subhost: (bridge) => ({ bridges: [`${bridge}:${MAC}`], address: '10.213.0.2/24', hostname: 'guest-one' }) });
  const { root, sh, status } = b;
  const bridge = b.bridge!;
  const peer = b.peer!;
  let sub: DiskSubhost;
  beforeAll(() => {
    sub = b.sub();
  });

  it('runs subhost-init as PID 1 in its own PID namespace', () => {
    const s = status();
    expect(s.state).toBe('running');
    // subhost-init's text is evaluated by the guest's /bin/sh, never read from a file of the guest.
    expect(readCmdline(s.pid1)).toEqual(['/bin/sh', '-c', expect.stringContaining('eval'), 'subhost-init']);
    expect(sh('cat /proc/1/cmdline | tr "\\0" " "').stdout.trim()).toMatch(/^\/bin\/sh -c .*eval.* subhost-init$/);
  });

  it('puts its processes in its cgroups (v2, and each v1 hierarchy on a hybrid host) and the supervisor outside', async () => {
    const s = status();
    const lines = (pid: number) => readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n');
    const pid1 = lines(s.pid1);
    // In cgroup2 and the devices hierarchy one level down, below its device program and rules (see DEVICES_LEAF).
    expect(pid1).toContain(`0::/subhost/${sub.name}/guest`);
    for (const h of findV1Hierarchies()) {
      const leaf = h.controllers.includes('devices') ? '/guest' : '';
      expect(pid1.find((l) => l.split(':')[1].split(',').includes(h.controllers[0]))).toMatch(new RegExp(`:/subhost/${sub.name}${leaf}$`));
    }
    // Its own monitor cgroup (one cgroup.procs finds it), in cgroup2 and in every v1 hierarchy: joined
    // beside PID 1's start, so the kernel may still be moving it when boot answers.
    const inMonitor = () => lines(s.supervisor).filter((l) => l.endsWith(`:/subhost.monitor/${sub.name}`)).length === 1 + findV1Hierarchies().length;
    await waitFor('the supervisor in its monitor', inMonitor, 5000, 5);
    expect(lines(s.supervisor)).toContain(`0::/subhost.monitor/${sub.name}`);
    for (const h of findV1Hierarchies()) expect(lines(s.supervisor).find((l) => l.split(':')[1].split(',').includes(h.controllers[0]))).toMatch(new RegExp(`:/subhost.monitor/${sub.name}$`));
    expect(s.cgroup).toBe(`${findCgroup2Mount()}/subhost/${sub.name}`);
  });

  it('gets from subhost-init /proc, /sys read-only, /dev with its own devpts and /dev/shm, /run, and lo up', () => {
    const inside = readMountinfo(status().pid1);
    const at = (path: string) => inside.filter((m) => m.mountPoint === path).pop();
    expect(at('/proc')?.fsType).toBe('proc');
    expect(at('/sys')?.fsType).toBe('sysfs');
    expect(at('/sys')!.options).toContain('ro');
    for (const [path, fsType] of [['/dev', 'tmpfs'], ['/dev/pts', 'devpts'], ['/dev/shm', 'tmpfs'], ['/run', 'tmpfs']]) expect(at(path)?.fsType, path).toBe(fsType);
    // A devpts instance of its own: not the superblock of the host's /dev/pts.
    const hostPts = readMountinfo().filter((m) => m.mountPoint === '/dev/pts').pop();
    expect(hostPts, 'the host has a /dev/pts').toBeDefined();
    expect(at('/dev/pts')!.majorMinor).not.toBe(hostPts!.majorMinor);
    expect(sh('test -p /run/initctl && echo fifo').stdout).toBe('fifo\n');
    // IFF_UP is bit 0 of the interface flags.
    expect(Number(sh('cat /sys/class/net/lo/flags').stdout.trim()) & 1).toBe(1);
  });

  it('enters all the namespaces of PID 1, its cgroup and its root', async () => {
    const s = status();
    expect(sh('sleep 6137 </dev/null >/dev/null 2>&1 &').code).toBe(0);
    const pid = (await waitFor('the entered sleep', () => listPids().find((p) => readCmdline(p).join(' ') === 'sleep 6137' && readFileOr(`/proc/${p}/cgroup`)?.includes(`/subhost/${sub.name}/`))))!;
    try {
      for (const ns of ['mnt', 'pid', 'uts', 'ipc', 'net', 'cgroup']) {
        const own = readlinkSync(`/proc/${s.pid1}/ns/${ns}`);
        expect(own, ns).not.toBe(readlinkSync(`/proc/self/ns/${ns}`));
        expect(readlinkSync(`/proc/${pid}/ns/${ns}`), ns).toBe(own);
      }
      const cgroup2 = (p: number) => readFileSync(`/proc/${p}/cgroup`, 'utf8').split('\n').find((l) => l.startsWith('0::'));
      expect(cgroup2(pid)).toBe(cgroup2(s.pid1));
      const rootOf = (p: number) => statSync(`/proc/${p}/root/`);
      expect([rootOf(pid).dev, rootOf(pid).ino]).toEqual([rootOf(s.pid1).dev, rootOf(s.pid1).ino]);
    } finally {
      process.kill(pid, 'SIGKILL');
    }
  });

  it('sets the host name from the config', () => {
    expect(sh('hostname').stdout.trim()).toBe('guest-one');
  });

  it('makes /dev/vda1 and /dev/vdb1 block devices with the loop partitions numbers', { tags: ['kernel'] }, () => {
    const s = status();
    for (const node of ['vda1', 'vdb1']) {
      const d = s.disks.find((x: { node: string }) => x.node === node);
      expect(d.device).toMatch(/^\/dev\/loop\d+(p1)?$/);
      requireInLane('partition parsers (losetup --partscan making loopNp1)', d.device.endsWith('p1'));
      expect(blockNumbers(d.device)).toEqual({ major: d.major, minor: d.minor });
      expect(sh(`test -b /dev/${node}`).code).toBe(0);
      const inside = sh(`stat -c '%t %T' /dev/${node}`).stdout.trim().split(' ');
      expect(inside.map((x) => parseInt(x, 16))).toEqual([d.major, d.minor]);
    }
  });

  it("lets the guest's fstab mount /dev/vdb1, and rcS and rc 2 ran", () => {
    expect(sh('grep "^/dev/vdb1 " /proc/mounts').stdout).toMatch(/^\/dev\/vdb1 \/data ext4 /);
    expect(sh('cat /run/rcS.ran').code).toBe(0);
    expect(sh('cat /run/rc.ran').stdout.trim()).toBe('2');
  });

  it('gives eth0 the MAC and enslaves the host veth to the bridge', () => {
    expect(sh('cat /sys/class/net/eth0/address').stdout.trim()).toBe(MAC);
    expect(linkMaster(`${sub.name}0`)).toBe(bridge);
    expect(status().interfaces[0]).toMatchObject({ host: `${sub.name}0`, inside: 'eth0', mac: MAC, bridge, addresses: ['10.213.0.2/24'] });
  });

  it('reaches a test network namespace across the bridge', async () => {
    expect(sh('ping -c 1 -W 5 10.213.0.1').code).toBe(0);
    expect((await inNetns(peer, ['busybox', 'ping', '-c', '1', '-W', '5', '10.213.0.2'])).code).toBe(0);
  });

  it('passes the exit status of enter through', () => {
    expect(sh('exit 42').code).toBe(42);
    expect(cli(['enter', sub.name, '--', 'true'], { root }).code).toBe(0);
  });

  it('hides host processes and mounts', () => {
    const ps = sh('ps -o pid,comm').stdout;
    expect(ps).not.toMatch(/node|vitest/);
    const pids = sh('ls /proc | grep -c "^[0-9]"').stdout.trim();
    expect(Number(pids)).toBeLessThan(15);
    const mounts = sh('cat /proc/self/mountinfo').stdout;
    expect(mounts).not.toContain(root);
    expect(mounts).not.toMatch(/ \/work| \/sys\/fs\/cgroup/);
    expect(mounts.split('\n')[0]).toMatch(/ \/ /);
  });

  it('lists it with --json', async () => {
    const list = ok(['list', '--json'], { root }).stdout;
    // SPEC §6: parseable by jq, every object with a name and one of the four states.
    const states = '["stopped","running","hibernated","failed"]';
    const jq = await run(['jq', '-e', `length > 0 and all(.[]; (.name | type) == "string" and (.state as $s | ${states} | index($s)) != null)`], { input: list, allowFailure: true });
    expect(jq.code, jq.stderr).toBe(0);
    expect((await run(['jq', '-r', '.name + " " + .state'], { input: ok(['status', sub.name, '--json'], { root }).stdout })).stdout).toBe(`${sub.name} running\n`);
    const all = JSON.parse(list);
    expect(all.map((x: { name: string }) => x.name)).toContain(sub.name);
    const me = all.find((x: { name: string }) => x.name === sub.name);
    expect(me).toMatchObject({ state: 'running', kind: 'disk', mode: 'boot', hostname: 'guest-one' });
    // The addresses of every running subhost come from one addon call (describeAll), as status's do.
    expect(me.interfaces[0].addresses).toEqual(['10.213.0.2/24']);
    expect(me.uptimeSeconds).toBeGreaterThanOrEqual(0);
    expect(ok(['list'], { root }).stdout).toMatch(new RegExp(`^${sub.name}\\s+running\\s+disk`, 'm'));
  });

  it('keeps the console in the log', () => {
    const log = ok(['logs', sub.name], { root }).stdout;
    expect(log).toContain('rcS: done');
    expect(log).toContain('rc: runlevel 2');
  });

  it('reaps orphans: subhost-init adopts them and no zombie stays', async () => {
    // Each subshell ends at once, so its sleep is an orphan: the kernel gives it to PID 1 of the namespace.
    const procs = (script = '') => sh(`${script}; for f in /proc/[0-9]*/stat; do read -r l < "$f" && echo "$l"; done`).stdout.trim().split('\n').map(parseStat);
    const orphans = procs('(sleep 1 &); (sleep 1 &); (sleep 1 &); sleep 0.2').filter((p) => p.comm === 'sleep');
    expect(orphans).toHaveLength(3);
    for (const o of orphans) expect(o).toMatchObject({ ppid: 1, state: 'S' });
    const pids = orphans.map((o) => o.pid);
    // Ended and reaped: gone from /proc, not left there as zombies of PID 1.
    await waitFor('the orphans to end and be reaped', () => !procs('true').some((p) => pids.includes(p.pid)), 5000);
    expect(procs('true').filter((p) => p.state === 'Z')).toEqual([]);
  });

  it('refuses a second boot of a running subhost', () => {
    const r = cli(['boot', sub.name], { root });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`subhost: subhost ${sub.name} is already running\n`);
  });
});

describe('power off and data', () => {
  const p = useDiskSubhost('p');
  const { root, sh } = p;
  let sub: DiskSubhost;
  const noneLeft = () => leftoversOf(sub.name);

  beforeAll(() => {
    sub = p.sub();
  });

  it('keeps what was written inside across power off and a new boot, with a clean e2fsck', async () => {
    await bootAndSettle(root, sub.name);
    expect(sh('echo on-root > /root/marker && echo on-data > /data/marker && sync').code).toBe(0);
    // Written after the last sync inside: the power off itself must get them to the images (the kernel
    // unmounts the guest's filesystems as its mount namespace ends, flushing each).
    expect(sh('echo late-root > /root/late && echo late-data > /data/late').code).toBe(0);
    const r = ok(['poweroff', sub.name], { root });
    expect(r.stdout).toBe(`${sub.name}: powered off\n`);
    expect(noneLeft()).toEqual([]);
    for (const disk of [sub.disk1, sub.disk2!]) {
      const fsck = await run(['e2fsck', '-fn', `${disk}?offset=1048576`], { allowFailure: true });
      expect(fsck.code, fsck.stdout + fsck.stderr).toBe(0);
    }
    await bootAndSettle(root, sub.name);
    expect(sh('cat /root/marker /data/marker /root/late /data/late').stdout).toBe('on-root\non-data\nlate-root\nlate-data\n');
  });

  it('powers off by itself when something writes to /run/initctl inside', async () => {
    const s = statusOf(root, sub.name);
    expect(s.state).toBe('running');
    expect(sh('echo poweroff > /run/initctl').code).toBe(0);
    await waitFor('the guest to release everything', () => noneLeft().length === 0 && !existsSync(`/proc/${s.pid1}`), 5000);
    expect(statusOf(root, sub.name).state).toBe('stopped');
    expect(ok(['logs', sub.name], { root }).stdout).toContain('subhost-init: poweroff');
  });

  it('says so when stopping or powering off a stopped subhost', () => {
    expect(ok(['stop', sub.name], { root }).stdout).toBe(`${sub.name}: already stopped\n`);
    expect(ok(['poweroff', sub.name], { root }).stdout).toBe(`${sub.name}: already stopped\n`);
  });

  it('stop kills and releases a running subhost at once', async () => {
    ok(['boot', sub.name], { root });
    expect(ok(['stop', sub.name], { root }).stdout).toBe(`${sub.name}: stopped\n`);
    expect(noneLeft()).toEqual([]);
    expect(readMountinfo().some((m) => m.mountPoint.startsWith(root))).toBe(false);
  });

  it('boots and stops without node:net, node:stream, node:child_process or node:crypto (the addon reads the pipes of bash and the supervisor)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'subhost-boot-modules-'));
    try {
      const seen = join(dir, 'seen');
      const tracer = join(dir, 'trace.cjs');
      // Written as it goes: the CLI ends with _exit(2), no exit handler runs.
      writeFileSync(tracer, `const M = require('module'); const fs = require('fs'); const load = M._load;
M._load = function (r, ...a) { fs.appendFileSync(${JSON.stringify(seen)}, r + '\\n'); return load.call(this, r, ...a); };`);
      const env = { NODE_OPTIONS: `--require ${tracer}` };
      for (const command of ['boot', 'stop']) {
        writeFileSync(seen, '');
        ok([command, sub.name], { root, env });
        const modules = readFileSync(seen, 'utf8').split('\n');
        expect(modules, command).toContain('node:fs');
        expect(modules.filter((m) => ['node:net', 'node:stream', 'node:child_process', 'node:crypto'].includes(m)), command).toEqual([]);
      }
      expect(noneLeft()).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('prints the plan with --dry-run and changes nothing', () => {
    const r = ok(['boot', sub.name, '--dry-run'], { root });
    expect(r.stdout).toMatch(new RegExp(`^boot ${sub.name}: \\d+ steps\\n`));
    expect(r.stdout).toContain('attach');
    expect(r.stdout).toContain('pivot_root');
    expect(noneLeft()).toEqual([]);
  });
});

describe('a DISKS element with partition 0: the whole image is one filesystem', () => {
  const z = useDiskSubhost('z', { subhost: () => ({ dataDisk: false, files: { 'etc/fstab': { content: '/dev/vdb /data ext4 defaults 0 0\n' } } }) });
  const { root, sh } = z;
  let sub: DiskSubhost;
  let bare: string;

  beforeAll(async () => {
    sub = z.sub();
    bare = join(sub.dir, 'bare.raw');
    await makeDiskImage(bare, { sizeMiB: 16, partitioned: false });
    writeFileSync(join(sub.dir, 'config'), `DISKS=( vda:1:${sub.disk1} vdb:0:${bare} )\n`);
  });

  it('is /dev/vdb inside: the loop device of the whole image, mounted by the guest fstab and written for real', async () => {
    await bootAndSettle(root, sub.name);
    const d = statusOf(root, sub.name).disks.find((x: { node: string }) => x.node === 'vdb');
    expect(d.device).toMatch(/^\/dev\/loop\d+$/);
    expect(listLoops().find((l) => l.dev === d.device)).toMatchObject({ backingFile: bare, offset: 0 });
    expect(blockNumbers(d.device)).toEqual({ major: d.major, minor: d.minor });
    expect(sh("stat -c '%t %T' /dev/vdb").stdout.trim().split(' ').map((x) => parseInt(x, 16))).toEqual([d.major, d.minor]);
    expect(sh('test -e /dev/vdb1 || echo no-vdb1').stdout).toBe('no-vdb1\n');
    expect(sh('grep "^/dev/vdb " /proc/mounts').stdout).toMatch(/^\/dev\/vdb \/data ext4 /);
    expect(sh('echo on-bare > /data/marker && sync').code).toBe(0);
    expect(ok(['poweroff', sub.name], { root }).stdout).toBe(`${sub.name}: powered off\n`);
    expect(leftoversOf(sub.name)).toEqual([]);
    expect((await run(['debugfs', '-R', 'cat /marker', bare])).stdout).toBe('on-bare\n');
    const fsck = await run(['e2fsck', '-fn', bare], { allowFailure: true });
    expect(fsck.code, fsck.stdout + fsck.stderr).toBe(0);
  });
});
