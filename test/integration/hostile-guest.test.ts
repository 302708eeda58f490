import { spawnSync } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readMountinfo, mountsUnder } from '../../src/host/mountinfo';
import { cli, ok } from '../helpers/cli';
import { makeTestRoot, removeTestRoot, testName } from '../helpers/env';
import { createBusyboxTree, createDiskSubhost, createLayerSubhost } from '../helpers/fixtures';
import { leftoversOf } from '../helpers/leaks';
import { expectRefused } from '../helpers/refused';
import { bootAndSettle, enterSh } from '../helpers/subhost';

// Issue 13, classes 1, 3 and 4: hostile guest images and folders. Nothing of the host may be
// reachable when the guest's first program runs, nothing is written through the guest's paths,
// and what the guest plants is no setuid program or device for the host's users.

const root = makeTestRoot();
const booted: string[] = [];
afterAll(() => {
  for (const name of booted) cli(['stop', name], { root });
  removeTestRoot(root);
});

async function boot(name: string): Promise<void> {
  booted.push(name);
  await bootAndSettle(root, name);
}

/** The mounts the host holds for a subhost (live/ and mnt/), each with nosuid and nodev? */
function hostMountOptions(dir: string): { mountPoint: string; nosuid: boolean; nodev: boolean }[] {
  const info = readMountinfo();
  return [...mountsUnder(info, join(dir, 'live')), ...mountsUnder(info, join(dir, 'mnt'))].map((m) => ({ mountPoint: m.mountPoint, nosuid: m.options.includes('nosuid'), nodev: m.options.includes('nodev') }));
}

describe('class 1: no guest program runs while the host root is reachable', () => {
  it("a guest /bin/sh that writes through /.., and a /sbin climbing past /, reach nothing of the host's", async () => {
    const host = join(root, 'host-side');
    mkdirSync(join(host, 'sbin'), { recursive: true });
    // Were /sbin/subhost-init looked up through the guest's /sbin, PID 1 would run this host file.
    writeFileSync(join(host, 'sbin/subhost-init'), 'echo "ran the host file"; exit 1\n', { mode: 0o755 });
    const sh = `#!/bin/busybox sh\n[ -d /..${host} ] && echo written > /..${host}/by-guest-sh\nexec /bin/busybox sh "$@"\n`;
    const sub = await createDiskSubhost(root, testName('a'), {
      dataDisk: false,
      prepare: (tree) => {
        rmSync(join(tree, 'sbin'), { recursive: true });
        symlinkSync(`../../../../../../../..${host}/sbin`, join(tree, 'sbin'));
        rmSync(join(tree, 'bin/sh'));
        writeFileSync(join(tree, 'bin/sh'), sh, { mode: 0o755 });
      },
    });
    booted.push(sub.name);
    const r = cli(['boot', sub.name], { root });
    const log = cli(['logs', sub.name], { root }).stdout;
    expect(log).not.toContain('ran the host file');
    expect(existsSync(join(host, 'by-guest-sh'))).toBe(false);
    expect(r.code, r.stderr).toBe(0);
    // Inside, / is the top: its parent is itself.
    expect(enterSh(root, sub.name, 'stat -c %d:%i / /..').stdout.split('\n').filter(Boolean)).toSatisfy((l: string[]) => l.length === 2 && l[0] === l[1]);
    expect(hostMountOptions(sub.dir).every((m) => m.nosuid && m.nodev)).toBe(true);
  });
});

describe('class 3: nothing is written into the guest by the host', () => {
  it('a planted symlink at every name the init install could use truncates no host file', async () => {
    const victim = join(root, 'victim');
    writeFileSync(victim, 'host data\n');
    const sub = await createLayerSubhost(root, testName('s'), { rootTree: true });
    const sbin = join(sub.dir, 'root/sbin');
    // The old install wrote sbin/subhost-init.tmp-<PID of boot>: cover the PIDs about to be used.
    const last = Number(readFileSync('/proc/sys/kernel/ns_last_pid', 'utf8'));
    for (let pid = last + 1; pid < last + 3000; pid++) symlinkSync(victim, join(sbin, `subhost-init.tmp-${pid}`));
    booted.push(sub.name);
    const r = cli(['boot', sub.name], { root });
    expect(readFileSync(victim, 'utf8')).toBe('host data\n');
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(sbin, 'subhost-init'))).toBe(false);
  });
});

describe('class 4: what the guest plants is no setuid program or device for host users', () => {
  it('directory, overlay and image layouts are mounted nosuid,nodev on the host side', async () => {
    const dir = await createLayerSubhost(root, testName('d'), { rootTree: true });
    const base = await createBusyboxTree(join(root, 'base'));
    const over = await createLayerSubhost(root, testName('o'), { base });
    const image = await createLayerSubhost(root, testName('i'), { rootTree: true, imageFolders: ['root'] });
    for (const s of [dir, over, image]) {
      await boot(s.name);
      const opts = hostMountOptions(s.dir);
      expect(opts.length).toBeGreaterThan(0);
      expect(opts.filter((m) => !m.nosuid || !m.nodev)).toEqual([]);
    }
    // The guest itself keeps its setuid programs in its own namespace.
    expect(enterSh(root, dir.name, 'grep " / / " /proc/self/mountinfo').stdout).not.toMatch(/nosuid/);

    // A setuid-root program and a device node the guest made are inert from the host.
    copyHostId(join(dir.dir, 'root/root/id'));
    expect(enterSh(root, dir.name, 'chmod 4755 /root/id && mknod /root/zero c 1 5 && echo planted').stdout).toBe('planted\n');
    const fd = openSync(join(dir.dir, 'live/root/id'), 'r');
    try {
      const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--', '/proc/self/fd/3', '-u'], { stdio: ['ignore', 'pipe', 'pipe', fd], encoding: 'utf8' });
      expect(r.stdout, r.stderr).toBe('65534\n');
    } finally {
      closeSync(fd);
    }
    expect(() => closeSync(openSync(join(dir.dir, 'live/root/zero'), 'r'))).toThrow(/EACCES/);
  });

  it('refuses a subhost folder other users can traverse, in one line saying the mode wanted', async () => {
    const open = makeTestRoot();
    try {
      chmodSync(open, 0o755);
      const sub = await createLayerSubhost(open, testName('m'), { rootTree: true });
      chmodSync(sub.dir, 0o755);
      expectRefused(open, ['boot', sub.name], 1, new RegExp(`^subhost: subhost folder ${sub.dir}: other users can traverse it \\(mode 0755, and every folder above it too\\): make it 0700 or 0750 \\(chmod o-rwx ${sub.dir}\\)\\n$`));
      expect(leftoversOf(sub.name)).toEqual([]);
      chmodSync(sub.dir, 0o750);
      ok(['boot', sub.name, '--dry-run'], { root: open });
    } finally {
      removeTestRoot(open);
    }
  });
});

/** The host's id(1), a dynamically linked program that says its effective uid, into the guest's files. */
function copyHostId(to: string): void {
  writeFileSync(to, readFileSync(readdirSync('/usr/bin').includes('id') ? '/usr/bin/id' : '/bin/id'), { mode: 0o755 });
}
