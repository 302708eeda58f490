import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cgroup, findCgroup2Mount } from '../../src/host/cgroupfs';
import { run } from '../../src/host/exec';
import { linkExists } from '../../src/host/ip';
import { listLoops } from '../../src/host/loop';
import { isMountPoint, readMountinfo } from '../../src/host/mountinfo';
import { netnsExists, netnsPath } from '../../src/host/netns';
import { isAlive, procRef, type ProcRef } from '../../src/host/proc';
import { cli, ok } from '../helpers/cli';
import { makeTestRoot, PREFIX, removeTestRoot, testName } from '../helpers/env';
import { createDiskSubhost, type DiskSubhost } from '../helpers/fixtures';
import { leftoversOf } from '../helpers/leaks';
import { bootAndSettle, statusOf } from '../helpers/subhost';
import { createBridge, deleteBridge } from '../helpers/net';

const cg2 = findCgroup2Mount();

/** A process of our own, placed in a cgroup (as a leftover guest process or supervisor would be). */
function plantProcess(cgroup: string, env: Record<string, string> = {}): ProcRef {
  const child = spawn('sleep', ['600'], { detached: true, stdio: 'ignore', env: { PATH: process.env.PATH, ...env } });
  child.unref();
  new Cgroup(cgroup).create();
  writeFileSync(join(cgroup, 'cgroup.procs'), String(child.pid));
  return procRef(child.pid!)!;
}

describe('check-mounts', () => {
  const root = makeTestRoot();
  const bridge = `${PREFIX}mbr${process.pid % 10000}`;
  let running: DiskSubhost;
  let left: DiskSubhost;
  const check = (...args: string[]) => cli(['check-mounts', running.name, left.name, ...args], { root });
  const checkJson = (...args: string[]) => {
    const r = check('--json', ...args);
    return { code: r.code, report: JSON.parse(r.stdout), stderr: r.stderr };
  };
  const kindsOf = (report: { leftovers: { kind: string; subhost: string; id: string }[] }, name: string) => report.leftovers.filter((l) => l.subhost === name).map((l) => l.kind).sort();

  beforeAll(async () => {
    await createBridge(bridge);
    running = await createDiskSubhost(root, testName('r'), { bridges: [bridge] });
    left = await createDiskSubhost(root, testName('l'), { bridges: [bridge] });
    await bootAndSettle(root, running.name);
  });
  afterAll(async () => {
    cli(['stop', running.name], { root });
    cli(['stop', left.name], { root });
    await deleteBridge(bridge);
    removeTestRoot(root);
  });

  it("reports each filesystem of a running subhost, the guest's own mounts included, with space used and free", () => {
    const { code, report } = checkJson();
    expect(code).toBe(0);
    expect(report).toMatchObject({ ok: true, thresholdPercent: 90, leftovers: [], errors: [] });
    const me = report.subhosts.find((s: { name: string }) => s.name === running.name);
    expect(me.state).toBe('running');
    expect(me.filesystems.map((f: { mountPoint: string; fsType: string }) => `${f.mountPoint} ${f.fsType}`).sort()).toEqual(['/ ext4', '/data ext4']);
    for (const f of me.filesystems) {
      expect(f.sizeBytes).toBeGreaterThan(10 * 1024 * 1024);
      expect(f.usedBytes + f.freeBytes).toBeLessThanOrEqual(f.sizeBytes);
      expect(f.usedPercent).toBe(Math.ceil((f.usedBytes * 100) / (f.usedBytes + f.freeBytes)));
      expect(f.overThreshold).toBe(false);
    }
    expect(report.subhosts.find((s: { name: string }) => s.name === left.name)).toEqual({ name: left.name, state: 'stopped', filesystems: [] });
    expect(check().stdout).toMatch(new RegExp(`^${running.name}\\s+running\\s+/data\\s+/dev/vdb1\\s+ext4 `, 'm'));
  });

  it('warns, and exits 1, when a filesystem is fuller than the threshold', () => {
    const { code, report } = checkJson('--threshold', '1');
    expect(code).toBe(1);
    expect(report.ok).toBe(false);
    expect(report.subhosts.find((s: { name: string }) => s.name === running.name).filesystems.every((f: { overThreshold: boolean }) => f.overThreshold)).toBe(true);
    expect(check('--threshold', '1').stdout).toMatch(/filesystems at or over 1%/);
  });

  it('finds each kind of leftover, planted for real, and --fix releases exactly those', async () => {
    const name = left.name;
    const foreignNetns = `${PREFIX}fns${process.pid % 1000}`;
    const live = join(left.dir, 'live');
    // A loop device on its image, a mount on its live folder, a marked veth and netns, a cgroup
    // with a process in it, a supervisor of a boot long gone, and a runtime dir with no state.
    const loop = (await run(['losetup', '--find', '--show', left.disk1])).stdout.trim();
    mkdirSync(live, { recursive: true });
    await run(['mount', '-t', 'tmpfs', `${PREFIX}-planted`, live]);
    await run(['ip', 'link', 'add', `${name}0`, 'type', 'veth', 'peer', 'name', `${name}p`]);
    await run(['ip', 'link', 'set', `${name}0`, 'alias', `subhost:${name}`]);
    await run(['ip', 'netns', 'add', name]);
    await run(['ip', '-n', name, 'link', 'set', 'lo', 'alias', `subhost:${name}`]);
    await run(['ip', 'netns', 'add', foreignNetns]);
    const guestProc = plantProcess(join(cg2, 'subhost', name));
    const supervisor = plantProcess(join(cg2, 'subhost.monitor'), { SUBHOST_NAME: name, SUBHOST_BOOT_ID: 'gone' });
    mkdirSync(`/run/subhost/${name}`, { recursive: true });
    try {
      const { code, report } = checkJson();
      expect(code).toBe(1);
      expect(kindsOf(report, name)).toEqual(['cgroup', 'loop', 'mount', 'netns', 'process', 'state', 'supervisor', 'veth']);
      expect(report.leftovers).toEqual(
        expect.arrayContaining([
          { kind: 'loop', subhost: name, id: loop, detail: left.disk1 },
          { kind: 'mount', subhost: name, id: live, detail: `tmpfs ${PREFIX}-planted` },
          { kind: 'veth', subhost: name, id: `${name}0` },
          { kind: 'netns', subhost: name, id: name },
          { kind: 'cgroup', subhost: name, id: join(cg2, 'subhost', name) },
          expect.objectContaining({ kind: 'process', subhost: name, id: String(guestProc.pid) }),
          expect.objectContaining({ kind: 'supervisor', subhost: name, id: String(supervisor.pid) }),
          { kind: 'state', subhost: name, id: `/run/subhost/${name}`, detail: 'no readable state.json' },
        ]),
      );
      // What the running subhost holds is rightfully its own; a netns without our mark is not ours.
      expect(kindsOf(report, running.name)).toEqual([]);
      expect(report.leftovers.some((l: { id: string }) => l.id === foreignNetns)).toBe(false);
      expect(check().stdout).toMatch(/8 left over \(--fix releases them\)/);

      const fix = checkJson('--fix');
      expect(fix.code, fix.stderr).toBe(0);
      expect(fix.report.leftovers).toEqual([]);
      expect(fix.report.fixed.map((f: { kind: string }) => f.kind).sort()).toEqual(kindsOf(report, name));
      expect(listLoops().some((l) => l.dev === loop)).toBe(false);
      expect(isMountPoint(readMountinfo(), live)).toBe(false);
      expect(linkExists(`${name}0`) || linkExists(`${name}p`)).toBe(false);
      expect(netnsExists(name)).toBe(false);
      expect(existsSync(join(cg2, 'subhost', name))).toBe(false);
      expect(isAlive(guestProc) || isAlive(supervisor)).toBe(false);
      expect(existsSync(`/run/subhost/${name}`)).toBe(false);
      expect(netnsExists(foreignNetns)).toBe(true);
      expect(statusOf(root, running.name).state).toBe('running');
      expect(check().code).toBe(0);
    } finally {
      await run(['ip', 'netns', 'delete', foreignNetns], { allowFailure: true });
    }
  });

  it('reports a failed subhost with all it holds, and --fix releases it as stop would', async () => {
    const r = cli(['boot', left.name], { root, env: { SUBHOST_TEST_KILL_AT: 'boot:after:start-init' } });
    expect(r.code).toBeNull();
    const { code, report } = checkJson();
    expect(code).toBe(1);
    expect(report.subhosts.find((s: { name: string }) => s.name === left.name).state).toBe('failed');
    expect(new Set(kindsOf(report, left.name))).toEqual(new Set(['state', 'supervisor', 'process', 'mount', 'loop', 'veth', 'netns', 'cgroup']));
    expect(report.leftovers.find((l: { kind: string }) => l.kind === 'state').detail).toMatch(/^failed: `subhost boot` \(pid \d+\) was interrupted/);
    expect(checkJson('--fix').code).toBe(0);
    expect(leftoversOf(left.name)).toEqual([]);
    expect(statusOf(root, left.name).state).toBe('stopped');
  });

  it('kills a stray supervisor of an active subhost, and nothing else of it', async () => {
    const stray = plantProcess(join(cg2, 'subhost.monitor'), { SUBHOST_NAME: running.name, SUBHOST_BOOT_ID: 'an-old-boot' });
    const { code, report } = checkJson();
    expect(code).toBe(1);
    expect(report.leftovers).toEqual([expect.objectContaining({ kind: 'supervisor', subhost: running.name, id: String(stray.pid) })]);
    expect(checkJson('--fix').code).toBe(0);
    expect(isAlive(stray)).toBe(false);
    expect(statusOf(root, running.name).state).toBe('running');
  });

  it("reports a supervisor's cgroup left over (subhost.monitor/NAME) with what is in it, and --fix removes both", async () => {
    const name = left.name;
    const supervisor = plantProcess(join(cg2, 'subhost.monitor', name), { SUBHOST_NAME: name, SUBHOST_BOOT_ID: 'gone' });
    const { code, report } = checkJson();
    expect(code).toBe(1);
    expect(report.leftovers).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'supervisor', subhost: name, id: String(supervisor.pid) }),
        { kind: 'cgroup', subhost: name, id: join(cg2, 'subhost.monitor', name), detail: "its supervisor's" },
      ]),
    );
    expect(checkJson('--fix').code).toBe(0);
    expect(isAlive(supervisor)).toBe(false);
    expect(existsSync(join(cg2, 'subhost.monitor', name))).toBe(false);
    expect(existsSync(join(cg2, 'subhost.monitor', running.name))).toBe(true);
    expect(statusOf(root, running.name).state).toBe('running');
  });

  it("leaves alone what is in a boot's way and is not ours: a network namespace or link of that name", async () => {
    const name = left.name;
    await run(['ip', 'netns', 'add', name]);
    try {
      const r = cli(['boot', name], { root });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`network namespace ${name} already exists`));
      expect(netnsExists(name)).toBe(true);
      expect(checkJson().report.leftovers).toEqual([]);
    } finally {
      await run(['ip', 'netns', 'delete', name], { allowFailure: true });
    }
    await run(['ip', 'link', 'add', `${name}0`, 'type', 'veth', 'peer', 'name', `${name}q`]);
    try {
      const r = cli(['boot', name], { root });
      expect(r.stderr).toMatch(new RegExp(`interface ${name}0 already exists on the host`));
      expect(linkExists(`${name}0`)).toBe(true);
      expect(ok(['stop', name], { root }).stdout).toBe(`${name}: already stopped\n`);
      expect(linkExists(`${name}0`)).toBe(true);
      expect(checkJson().report.leftovers).toEqual([]);
    } finally {
      await run(['ip', 'link', 'del', `${name}0`], { allowFailure: true });
    }
    expect(leftoversOf(name)).toEqual([]);
  });

  it("reports a namespace file bound to no namespace (a boot killed while the addon made it) as NAME's, and --fix removes it", () => {
    const name = left.name;
    writeFileSync(netnsPath(name), '');
    try {
      expect(checkJson().report.leftovers).toEqual([expect.objectContaining({ kind: 'netns', subhost: name, id: name })]);
      expect(checkJson('--fix').code).toBe(0);
      expect(netnsExists(name)).toBe(false);
      expect(checkJson().report.leftovers).toEqual([]);
    } finally {
      rmSync(netnsPath(name), { force: true });
    }
  });

  it('refuses bad input', () => {
    const bad = cli(['check-mounts', '--threshold', '0'], { root });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^subhost: .*expected a percentage from 1 to 100\n$/);
    const badName = cli(['check-mounts', 'Bad_Name'], { root });
    expect(badName.code).toBe(1);
    expect(badName.stderr).toMatch(/^subhost: NAME "Bad_Name": /);
  });
});
