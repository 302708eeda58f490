import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapKilledWhen, bootstrapOk, exists, hasStoppedProcess, processesOf, stagingDirs, waitRunlevel2 } from '../helpers/bootstrap';
import { run } from '../../src/host/exec';
import { BIN, cli, ok } from '../helpers/cli';
import { makeTestRoot, PREFIX, removeTestRoot, testName, waitFor } from '../helpers/env';
import { leftoversOf } from '../helpers/leaks';
import { createBridge, createPeer, deleteBridge, deletePeer } from '../helpers/net';
import { expectRefused } from '../helpers/refused';
import { enterSh } from '../helpers/subhost';

describe('subhost bootstrap --from busybox', () => {
  const root = makeTestRoot();
  const bridge = `${PREFIX}bsb${process.pid % 10000}`;
  const peer = `${PREFIX}bsp${process.pid % 10000}`;
  const names: string[] = [];
  const name = (tag: string) => {
    const n = testName(tag);
    names.push(n);
    return n;
  };
  beforeAll(async () => {
    await createBridge(bridge);
    await createPeer(peer, bridge, '10.61.0.1/24');
  });
  afterAll(async () => {
    for (const n of names) cli(['stop', n], { root });
    await deletePeer(peer);
    await deleteBridge(bridge);
    removeTestRoot(root);
  });

  it('makes a disk subhost with a static address that boots, reaches rc 2 and answers on its address', async () => {
    const n = name('d');
    const r = bootstrapOk(root, [n, '--from', 'busybox', '--disk', '64M', '--bridge', bridge, '--address', '10.61.0.5/24,10.61.0.1', '--hostname', 'web.example.org']);
    expect(r.stdout).toMatch(new RegExp(`^${n}: made ${root}/${n} \\(disk1.raw\\) in [\\d.]+ s`));
    expect(stagingDirs(root)).toEqual([]);
    const config = readFileSync(join(root, n, 'config'), 'utf8');
    expect(config).toContain('DISKS=( vda:1:disk1.raw )');
    expect(config).toContain(`BRIDGES=( ${bridge} )`);
    expect(config).toContain('ADDRESSES=( 10.61.0.5/24 )');
    ok(['boot', n], { root });
    try {
      await waitRunlevel2(root, n);
      expect(enterSh(root, n, 'hostname; ip -o -4 addr show dev eth0; ip route; cat /etc/fstab | grep -v "^#"').stdout).toMatch(/^web\.example\.org\n.*inet 10\.61\.0\.5\/24.*\ndefault via 10\.61\.0\.1 dev eth0/s);
      expect(enterSh(root, n, 'grep " / " /proc/mounts').stdout).toMatch(/^\S+ \/ ext4 rw/);
      // The peer's netns, on the bridge, answers the guest (busybox ping: one echo a second until a reply, 10 s at most).
      const ping = enterSh(root, n, 'ping -c 1 -w 10 10.61.0.1; echo; ip neigh; ip -s link show dev eth0');
      expect(ping.stdout, ping.stdout + ping.stderr).toMatch(/1 packets received/);
    } finally {
      // Powered off even when an assertion failed: the tests below count the processes of this root.
      ok(['poweroff', n], { root });
    }
    expect(leftoversOf(n)).toEqual([]);
  });

  it('makes a directory subhost that boots with --check first, and leaves it stopped', async () => {
    const n = name('r');
    const r = bootstrapOk(root, [n, '--from', 'busybox', '--dir', '--check', '--progress', 'json']);
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(events.map((e) => e.phase)).toEqual(['prepare', 'install', 'check', 'done']);
    expect(exists(root, `${n}/root/bin/busybox`)).toBe(true);
    expect(JSON.parse(ok(['status', n, '--json'], { root }).stdout)).toMatchObject({ state: 'stopped', kind: 'directory' });
    ok(['boot', n], { root });
    await waitRunlevel2(root, n);
    ok(['poweroff', n], { root });
  });

  it('makes an overlay subhost over a BASE with its own host name and network in root/', async () => {
    const base = name('b');
    bootstrapOk(root, [base, '--from', 'busybox', '--dir']);
    const n = name('o');
    bootstrapOk(root, [n, '--base', join(root, base, 'root'), '--bridge', bridge, '--address', '10.61.0.6/24']);
    expect(readFileSync(join(root, n, 'config'), 'utf8')).toContain(`BASE=${join(root, base, 'root')}`);
    expect(readFileSync(join(root, n, 'root/etc/network/interfaces'), 'utf8')).toContain('address 10.61.0.6/24');
    ok(['boot', n], { root });
    await waitRunlevel2(root, n);
    expect(enterSh(root, n, 'ip -o -4 addr show dev eth0').stdout).toContain('inet 10.61.0.6/24');
    ok(['poweroff', n], { root });
  });

  it('shows a bar on a terminal (script(1) gives it one), plain lines on stderr otherwise', async () => {
    const t = name('t');
    const r = await run(['script', '-qec', `${process.execPath} ${BIN} bootstrap ${t} --from busybox --dir`, '/dev/null'], { env: { SUBHOST_ROOT: root } });
    // A bar (cli-progress redraws at most so often: a fast bootstrap may skip a step's frame).
    expect(r.stdout).toMatch(/ 0% \| (making \S+ from busybox|building the busybox root)/);
    expect(r.stdout).toMatch(/ 100% \| done/);
    const p = name('l');
    expect(bootstrapOk(root, [p, '--from', 'busybox', '--dir']).stderr).toBe(`${p}: making ${p} from busybox\n${p}: building the busybox root\n${p}: done\n`);
  });

  it('refuses an existing NAME in one line, and --force replaces a stopped one', () => {
    const n = name('e');
    bootstrapOk(root, [n, '--from', 'busybox', '--dir']);
    writeFileSync(join(root, n, 'root/etc/mark'), 'old');
    expectRefused(root, ['bootstrap', n, '--from', 'busybox', '--dir'], 1, new RegExp(`subhost ${n} exists \\(${root}/${n}\\): --force replaces it`));
    expect(readFileSync(join(root, n, 'root/etc/mark'), 'utf8')).toBe('old');
    expect(bootstrapOk(root, [n, '--from', 'busybox', '--disk', '48M', '--force']).stdout).toContain(`${n}: replaced`);
    expect(exists(root, `${n}/root`)).toBe(false);
    expect(exists(root, `${n}/disk1.raw`)).toBe(true);
    expect(readdirSync(root).filter((d) => d.startsWith('.'))).toEqual([]);
  });

  it.each([
    [['--disk', '12Q'], /--disk 12Q: not a size/],
    [['--disk', '1M'], /--disk 1M: too small/],
    [['--from', 'debian:nosuchsuite'], /debootstrap does not know the suite nosuchsuite/],
    [['--from', 'debian', '--mirror', 'deb.debian.org/debian'], /--mirror deb.debian.org\/debian: not a URL/],
    [['--bridge', 'br0', '--address', '10.0.0.255/24'], /--address 10.0.0.255\/24: 10.0.0.255 is the broadcast address/],
    [['--dir', '--base', '/'], /choose one of --disk, --dir and --base/],
  ])('refuses %j: exit 2, one line, nothing made', (extra, message) => {
    const n = testName('x');
    const args = extra.includes('--from') ? extra : ['--from', 'busybox', ...extra];
    expectRefused(root, ['bootstrap', n, ...args], 2, message);
    expect(exists(root, n)).toBe(false);
    expect(stagingDirs(root)).toEqual([]);
  });

  it('killed in its mke2fs step: no process is left, no folder NAME; check-mounts names the staging folder and --fix removes it', async () => {
    const n = name('k');
    // mke2fs alone can end before a poll sees it (it did in CI): a wrapper of that name fills the
    // image with the real one, then stops itself before returning, so the kill lands in the step.
    const bin = mkdtempSync(join(tmpdir(), `${PREFIX}mke2fs-`));
    try {
      const real = ['/usr/sbin/mke2fs', '/sbin/mke2fs'].find((p) => existsSync(p))!;
      writeFileSync(join(bin, 'mke2fs'), `#!/bin/sh\n${real} "$@" || exit\nkill -STOP $$\n`, { mode: 0o755 });
      const env = { PATH: `${bin}:${process.env.PATH}` };
      await bootstrapKilledWhen(root, [n, '--from', 'busybox', '--disk', '4G'], 'mke2fs to fill the image', hasStoppedProcess(root, 'mke2fs'), { env });
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
    expect(exists(root, n)).toBe(false);
    expect(stagingDirs(root)).toHaveLength(1);
    const check = cli(['check-mounts', '--json', n], { root });
    expect(check.code).toBe(1);
    expect(JSON.parse(check.stdout).leftovers).toEqual([expect.objectContaining({ kind: 'bootstrap', subhost: n, id: join(root, stagingDirs(root)[0]) })]);
    const fixed = JSON.parse(cli(['check-mounts', '--fix', '--json', n], { root }).stdout);
    expect(fixed.fixed.map((f: any) => f.kind)).toEqual(['bootstrap']);
    expect(stagingDirs(root)).toEqual([]);
    expect(leftoversOf(n)).toEqual([]);
  });

  it.each(['bootstrap:built', 'bootstrap:moved-aside'])('killed at %s: the next bootstrap removes what it left and succeeds', async (point) => {
    const n = name('p');
    if (point === 'bootstrap:moved-aside') bootstrapOk(root, [n, '--from', 'busybox', '--dir']);
    const r = cli(['bootstrap', n, '--from', 'busybox', '--dir', '--force'], { root, env: { SUBHOST_TEST_KILL_AT: point } });
    expect(r.code).toBe(null);
    expect(processesOf(root)).toEqual([]);
    expect(stagingDirs(root).length).toBeGreaterThan(0);
    // Killed before its rename: NAME is not there half-made (moved-aside: the old one is gone, as --force asked).
    expect(exists(root, `${n}/config`)).toBe(false);
    bootstrapOk(root, [n, '--from', 'busybox', '--dir', '--force']);
    expect(stagingDirs(root)).toEqual([]);
    expect(exists(root, `${n}/config`)).toBe(true);
  });

  it('waits for nothing it started: every bootstrap above left no process', async () => {
    await waitFor('no process of the test root', () => processesOf(root).length === 0, 5000);
  });
});

