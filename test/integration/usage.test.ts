import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CgroupSet } from '../../src/core/cgroups/subhost-cgroups';
import { findCgroup2Mount } from '../../src/host/cgroupfs';
import { parseFlatKeyed } from '../../src/host/cgroup-text';
import { cli, ok } from '../helpers/cli';
import { makeTestRoot, removeTestRoot, testName } from '../helpers/env';
import { createDiskSubhost, type DiskSubhost } from '../helpers/fixtures';
import { bootAndSettle, enterSh, statusOf } from '../helpers/subhost';

const threadsOf = (pid: number) => Number(/^Threads:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);

describe('usage of a booted subhost, from its real cgroups', () => {
  const root = makeTestRoot();
  let sub: DiskSubhost;
  let set: CgroupSet;
  const sh = (script: string) => enterSh(root, sub.name, script);
  const usage = () => JSON.parse(ok(['usage', sub.name, '--json'], { root }).stdout)[0];
  const userUsec = () => parseFlatKeyed(readFileSync(join(set.v2.path, 'cpu.stat'), 'utf8')).get('user_usec')! / 1e6;

  beforeAll(async () => {
    sub = await createDiskSubhost(root, testName('u'));
    await bootAndSettle(root, sub.name);
    set = CgroupSet.at(findCgroup2Mount(), `subhost/${sub.name}`);
  });
  afterAll(() => {
    cli(['stop', sub.name], { root });
    removeTestRoot(root);
  });

  it('is one record with the host name, the kind and the cgroup, in all three formats', () => {
    const r = usage();
    expect(r).toMatchObject({ host: hostname(), kind: 'subhost', name: sub.name, cgroup: set.v2.path });
    expect(Date.parse(r.time)).toBeGreaterThan(Date.now() - 60_000);
    const table = ok(['usage', sub.name], { root }).stdout.trim().split('\n');
    expect(table).toHaveLength(2);
    expect(table[1]).toMatch(new RegExp(`^${hostname()}\\s+subhost\\s+${sub.name}\\s`));
    const prom = ok(['usage', sub.name, '--prometheus'], { root }).stdout;
    expect(prom).toMatch(new RegExp(`^subhost_tasks\\{host="${hostname()}",kind="subhost",name="${sub.name}"\\} \\d+$`, 'm'));
  });

  it('counts the CPU time of a busy loop inside (cpu.stat rises)', () => {
    const before = usage().cpu;
    const kernelBefore = userUsec();
    expect(sh('i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done').code).toBe(0);
    const after = usage().cpu;
    const kernelAfter = userUsec();
    expect(after.source).toBe('v2');
    expect(after.userSeconds + after.systemSeconds - before.userSeconds - before.systemSeconds).toBeGreaterThan(0.2);
    // The figure is the kernel's, read at that moment.
    expect(after.userSeconds).toBeGreaterThan(kernelBefore);
    expect(after.userSeconds).toBeLessThanOrEqual(kernelAfter);
  });

  it('counts every task in the cgroup, and three more sleeps as three more', () => {
    const threads = () => set.v2.allProcs().reduce((n, pid) => n + threadsOf(pid), 0);
    const before = usage().tasks;
    expect(before.count).toBe(threads());
    const pids = sh('for i in 1 2 3; do sleep 600 </dev/null >/dev/null 2>&1 & echo $!; done').stdout.trim().split('\n');
    expect(pids).toHaveLength(3);
    try {
      const after = usage().tasks;
      expect(after.count).toBe(before.count + 3);
      expect(after.count).toBe(threads());
      console.log(`usage: tasks came from cgroup ${after.source} pids.current (${after.source === 'v1' ? 'the pids controller is on cgroup v1 on this host' : 'cgroup2 has the pids controller'})`);
    } finally {
      sh(`kill ${pids.join(' ')}`);
    }
  });

  it('counts the IO written to and read from its disks', () => {
    const before = usage().io;
    expect(sh('dd if=/dev/zero of=/data/io-test bs=64k count=160 oflag=direct 2>/dev/null && dd if=/data/io-test of=/dev/null bs=64k iflag=direct 2>/dev/null && rm /data/io-test').code).toBe(0);
    const after = usage().io;
    console.log(`usage: io came from ${after.source === 'v2' ? 'cgroup2 io.stat' : 'cgroup v1 blkio.throttle.io_service_bytes_recursive (blkio is on v1 here)'}; devices ${JSON.stringify(after.devices)}`);
    expect(after.writeBytes - (before.writeBytes ?? 0)).toBeGreaterThanOrEqual(10 * 1024 * 1024);
    expect(after.readBytes - (before.readBytes ?? 0)).toBeGreaterThanOrEqual(10 * 1024 * 1024);
    expect(after.devices.filter((d: { counted: boolean }) => d.counted).every((d: { device: string }) => /\/loop\d+(p\d+)?$/.test(readlinkDev(d.device)))).toBe(true);
  });

  it('is in status too, as the same record', () => {
    const s = statusOf(root, sub.name);
    expect(s.usage).toMatchObject({ host: hostname(), kind: 'subhost', name: sub.name, cgroup: set.v2.path });
    expect(ok(['status', sub.name], { root }).stdout).toMatch(/^ {2}tasks\s+\d+$/m);
  });

  it('is gone with the cgroup, in every hierarchy, after stop', () => {
    expect(set.all().every((c) => c.exists())).toBe(true);
    ok(['stop', sub.name], { root });
    for (const c of set.all()) expect(existsSync(c.path), c.path).toBe(false);
    const r = cli(['usage', sub.name], { root });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`subhost: usage: no subhost or VM named ${sub.name} is active on this host\n`);
    const all = JSON.parse(ok(['usage', '--json'], { root }).stdout);
    expect(all.some((x: { name: string }) => x.name === sub.name)).toBe(false);
  });
});

const readlinkDev = (device: string) => readlinkSync(`/sys/dev/block/${device}`);

describe('usage: bad input', () => {
  it('refuses a name that cannot be a cgroup, as bad usage', () => {
    const r = cli(['usage', 'a/b']);
    expect(r).toMatchObject({ code: 2, stdout: '', stderr: 'subhost: usage: "a/b" is not a subhost or VM name\n' });
  });
  it('refuses --json with --prometheus', () => {
    const r = cli(['usage', '--json', '--prometheus']);
    expect(r).toMatchObject({ code: 2, stdout: '', stderr: 'subhost: usage: --json and --prometheus exclude each other\n' });
  });
  it('refuses arguments to cgroups setup, as bad usage', () => {
    const r = cli(['cgroups', 'setup', 'vm1']);
    expect(r).toMatchObject({ code: 2, stdout: '', stderr: "subhost: too many arguments for 'setup'. Expected 0 arguments but got 1.\n" });
  });
  it('says which names it does not know, and prints nothing else', () => {
    const r = cli(['usage', 'nosuch-xyz1', 'nosuch-xyz2']);
    expect(r).toMatchObject({ code: 1, stdout: '', stderr: 'subhost: usage: no subhost or VM named nosuch-xyz1, nosuch-xyz2 is active on this host\n' });
  });
});
