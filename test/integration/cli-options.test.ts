import { closeSync, mkdirSync, openSync, readSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readMountinfo } from '../../src/host/mountinfo';
import { cli, ok } from '../helpers/cli';
import { makeTestRoot, removeTestRoot, testName } from '../helpers/env';
import { createDiskSubhost, type DiskSubhost } from '../helpers/fixtures';
import { findTestLeftovers, leftoversOf } from '../helpers/leaks';
import { expectRefused } from '../helpers/refused';
import { enterSh, statusOf } from '../helpers/subhost';

/** The global options and the commands that no other file calls: --root, --config, --verbose, autostart. */
describe('global options and autostart', () => {
  const root = makeTestRoot();
  // What SUBHOST_ROOT says in these cases: a folder with no subhost in it, so that only --root can find them.
  const elsewhere = makeTestRoot();
  let sub: DiskSubhost;
  const made: string[] = [];

  beforeAll(async () => {
    sub = await createDiskSubhost(root, testName('r'), { dataDisk: false });
    made.push(sub.name);
  });
  afterAll(() => {
    for (const n of made) cli(['stop', n], { root });
    removeTestRoot(root);
    removeTestRoot(elsewhere);
  });

  it('--root DIR finds the subhosts there, before SUBHOST_ROOT and without it', () => {
    const withRoot = (args: string[], env: Record<string, string | undefined>) => cli(['--root', root, ...args], { env });
    for (const env of [{ SUBHOST_ROOT: undefined }, { SUBHOST_ROOT: elsewhere }]) {
      const r = withRoot(['boot', sub.name], env);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^${sub.name}: booted, PID 1 is \\d+\\n$`));
      expect(readMountinfo().some((m) => m.mountPoint === join(sub.dir, 'live'))).toBe(true);
      const list = JSON.parse(withRoot(['list', '--json'], env).stdout);
      expect(list.map((x: { name: string; state: string }) => `${x.name} ${x.state}`)).toEqual([`${sub.name} running`]);
      expect(withRoot(['enter', sub.name, '--', 'cat', '/proc/1/cmdline'], env).stdout).toMatch(/^\/bin\/sh\0-c\0.*eval.*\0subhost-init\0$/);
      expect(withRoot(['stop', sub.name], env).stdout).toBe(`${sub.name}: stopped\n`);
      expect(leftoversOf(sub.name)).toEqual([]);
    }
    // Without --root, SUBHOST_ROOT (here: the other folder) is where subhosts are looked for.
    expect(JSON.parse(ok(['list', '--json'], { root: elsewhere }).stdout)).toEqual([]);
    expect(cli(['boot', sub.name], { root: elsewhere }).stderr).toMatch(new RegExp(`^subhost: no subhost ${sub.name}: `));
  });

  it('--config FILE boots a subhost from a config kept elsewhere', () => {
    const name = testName('c');
    made.push(name);
    const file = join(elsewhere, 'kept-apart.conf');
    writeFileSync(file, `DISKS=( vda:1:${sub.disk1} )\nHOSTNAME=from-config-file\n`);
    const r = ok(['boot', name, '--config', file], { root });
    expect(r.stdout).toMatch(new RegExp(`^${name}: booted, PID 1 is \\d+\\n$`));
    expect(enterSh(root, name, 'hostname').stdout).toBe('from-config-file\n');
    const s = statusOf(root, name);
    expect(s).toMatchObject({ state: 'running', kind: 'disk', hostname: 'from-config-file' });
    expect(s.disks.map((d: { node: string }) => d.node)).toEqual(['vda1']);
    expect(ok(['stop', name], { root }).stdout).toBe(`${name}: stopped\n`);
    expect(leftoversOf(name)).toEqual([]);
  });

  it('--verbose adds the failed command to the one-line error, and the host stays as it was', async () => {
    // An ext4 root whose superblock asks for a feature the kernel does not have: blkid still calls
    // it ext4 (so boot's checks pass), mount(8) fails. The partition starts at 1 MiB; the
    // superblock at 1024 bytes into it, s_feature_incompat at 0x60 in the superblock.
    const bad = await createDiskSubhost(root, testName('v'), { dataDisk: false });
    made.push(bad.name);
    const at = (1 << 20) + 1024 + 0x60;
    const fd = openSync(bad.disk1, 'r+');
    try {
      const word = Buffer.alloc(4);
      readSync(fd, word, 0, 4, at);
      word.writeUInt32LE(word.readUInt32LE(0) | 0x40000000, 0);
      writeSync(fd, word, 0, 4, at);
    } finally {
      closeSync(fd);
    }
    expectRefused(root, ['boot', bad.name], 1, /mount/);
    const before = findTestLeftovers();
    const r = cli(['--verbose', 'boot', bad.name], { root });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const lines = r.stderr.split('\n').filter(Boolean);
    expect(lines[0]).toMatch(/^subhost: .*mount/);
    expect(lines.length).toBeGreaterThan(1);
    expect(lines.slice(1).every((l) => l.startsWith('  '))).toBe(true);
    expect(r.stderr).toMatch(new RegExp(`^  command: mount .*${join(bad.dir, 'live')}`, 'm'));
    expect(findTestLeftovers()).toEqual(before);
    expect(statusOf(root, bad.name).state).toBe('stopped');
  });

  it('autostart boots the stopped subhosts with AUTOSTART=yes, and only those', async () => {
    const auto = await createDiskSubhost(root, testName('a'), { dataDisk: false, extraConfig: 'AUTOSTART=yes' });
    made.push(auto.name);
    const manual = await createDiskSubhost(root, testName('m'), { dataDisk: false, extraConfig: 'AUTOSTART=no' });
    made.push(manual.name);
    // Only these two (and no other folder of this root) may be booted: the others here have no AUTOSTART.
    const r = ok(['autostart'], { root });
    expect(r.stdout).toBe(`${auto.name}: booted\n`);
    expect(statusOf(root, auto.name)).toMatchObject({ state: 'running', mode: 'boot' });
    expect(statusOf(root, manual.name).state).toBe('stopped');
    expect(statusOf(root, sub.name).state).toBe('stopped');
    // At the next host start-up (or a second call) a running one is left as it is.
    const pid1 = statusOf(root, auto.name).pid1;
    expect(ok(['autostart'], { root }).stdout).toBe(`${auto.name}: already running\n`);
    expect(statusOf(root, auto.name).pid1).toBe(pid1);
    ok(['stop', auto.name], { root });
    expect(leftoversOf(auto.name, manual.name)).toEqual([]);
  });

  it('autostart says so when no subhost asks for it', () => {
    const empty = join(elsewhere, 'empty-root');
    mkdirSync(empty);
    expect(ok(['autostart'], { root: empty }).stdout).toBe('no subhost has AUTOSTART=yes\n');
  });
});
