import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveMac } from '../../src/core/config/mac';
import { linkMaster, readIfalias } from '../../src/host/ip';
import { blockNumbers, listLoops } from '../../src/host/loop';
import { isAlive, procRef } from '../../src/host/proc';
import { cli, cliAsync, ok, spawnCli } from '../helpers/cli';
import { makeTestRoot, PREFIX, removeTestRoot, sleep, testName, waitFor } from '../helpers/env';
import { createDiskSubhost, type DiskSubhost } from '../helpers/fixtures';
import { leftoversOf } from '../helpers/leaks';
import { statusOf } from '../helpers/subhost';
import { createBridge, deleteBridge } from '../helpers/net';

const PARALLEL = 20;

/** /dev/loop3p1 -> /dev/loop3; an offset loop (/dev/loop12) is its own device. */
const wholeDevice = (dev: string) => dev.replace(/^(\/dev\/loop\d+)p\d+$/, '$1');

describe('concurrency', () => {
  const root = makeTestRoot();
  const bridge = `${PREFIX}qbr${process.pid % 10000}`;
  let sub: DiskSubhost;

  beforeAll(async () => {
    await createBridge(bridge);
    sub = await createDiskSubhost(root, testName('q'), { bridges: [bridge] });
  });
  // Every subhost a test made is stopped, also when the test failed half-way.
  const made: string[] = [];
  afterAll(async () => {
    await Promise.all([sub.name, ...made].map((n) => cliAsync(['stop', n], { root })));
    await deleteBridge(bridge);
    removeTestRoot(root);
  });

  it('serialises commands on one subhost by its lock, which a killed holder does not wedge', async () => {
    // Another holder of the lock: a process that took the flock and then died by SIGKILL.
    const lockFile = `/run/subhost/.locks/${sub.name}`;
    mkdirSync('/run/subhost/.locks', { recursive: true });
    const holder = spawn('sh', ['-c', `exec 9>>"$1"; flock 9; echo locked; exec sleep 600`, 'holder', lockFile], { stdio: ['ignore', 'pipe', 'ignore'] });
    await new Promise((r) => holder.stdout.once('data', r));
    const boot = cliAsync(['boot', sub.name], { root });
    let done = false;
    void boot.then(() => (done = true));
    await sleep(1500);
    expect(done).toBe(false);
    holder.kill('SIGKILL');
    const r = await boot;
    expect(r.code, r.stderr).toBe(0);
    expect(statusOf(root, sub.name).state).toBe('running');
    ok(['stop', sub.name], { root });
  });

  it("probes a boot's images while another command holds the host-wide lock, not after (a batch waited on each boot's probes in turn)", async () => {
    const lockFile = '/run/subhost/.locks/.host';
    mkdirSync('/run/subhost/.locks', { recursive: true });
    const holder = spawn('sh', ['-c', `exec 9>>"$1"; flock 9; echo locked; exec sleep 600`, 'holder', lockFile], { stdio: ['ignore', 'pipe', 'ignore'] });
    await new Promise((r) => holder.stdout.once('data', r));
    const boot = spawnCli(['boot', sub.name], { root, env: { SUBHOST_TRACE: '1' } });
    let stderr = '';
    boot.stderr!.on('data', (b) => (stderr += b));
    const ended = new Promise<number | null>((r) => boot.on('close', r));
    // partx reads each image's table, blkid -p the root partition's type (their libblkid calls in the addon): all end while the lock is held.
    const images = [sub.disk1, sub.disk2].filter((d) => d !== undefined).length;
    try {
      await waitFor('the image probes while the host lock is held', () => (stderr.match(/ms  (\(system call\) )?partx /g) ?? []).length === images && /ms  (\(system call\) )?blkid -p .*--offset/.test(stderr), 10_000);
      expect(stderr).not.toMatch(/ms  losetup/);
    } finally {
      holder.kill('SIGKILL');
    }
    expect(await ended, stderr).toBe(0);
    // Probed once each: the checks under the lock took the results, no second partx.
    expect(stderr.match(/ms  (\(system call\) )?partx /g)).toHaveLength(images);
    expect(statusOf(root, sub.name).state).toBe('running');
    ok(['stop', sub.name], { root });
  });

  it('lets exactly one of racing boots of a subhost win; the others say it is already running', async () => {
    const results = await Promise.all(Array.from({ length: 4 }, () => cliAsync(['boot', sub.name], { root })));
    const winners = results.filter((r) => r.code === 0);
    expect(winners).toHaveLength(1);
    for (const r of results.filter((x) => x.code !== 0)) {
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`subhost: subhost ${sub.name} is already running\n`);
    }
    const s = statusOf(root, sub.name);
    expect(winners[0].stdout).toBe(`${sub.name}: booted, PID 1 is ${s.pid1}\n`);
    // One set of resources: the loops of one boot (a whole-image loop per image, and the
    // partition's, a loop of its own where the kernel parses no partition tables).
    const loops = listLoops().filter((l) => l.backingFile === sub.disk1 || l.backingFile === sub.disk2);
    expect(loops.filter((l) => l.offset === 0)).toHaveLength(2);
    expect(loops.length).toBeLessThanOrEqual(4);
    for (const d of s.disks) expect(loops.map((l) => l.dev)).toContain(wholeDevice(d.device));
    ok(['stop', sub.name], { root });
    expect(leftoversOf(sub.name)).toEqual([]);
  });

  it('lets only one of two subhosts racing for the same image have it', async () => {
    const twins = [testName('t'), testName('t')];
    made.push(...twins);
    for (const t of twins) {
      mkdirSync(join(root, t), { recursive: true });
      writeFileSync(join(root, t, 'config'), `DISKS=( vda:1:${sub.disk1} )\n`);
    }
    // Each boot dawdles between checking the image and recording it: without the host-wide
    // lock both would pass the check and mount one filesystem twice.
    const env = { SUBHOST_TEST_PAUSE_AT: 'boot:checked', SUBHOST_TEST_PAUSE_MS: '700' };
    const results = await Promise.all(twins.map((t) => cliAsync(['boot', t], { root, env })));
    expect(results.filter((r) => r.code === 0)).toHaveLength(1);
    const loser = results.findIndex((r) => r.code !== 0);
    const winner = twins[1 - loser];
    expect(results[loser].stderr).toBe(`subhost: DISKS[0] ("vda:1:${sub.disk1}"): image ${sub.disk1} is in use by subhost ${winner}\n`);
    ok(['stop', winner], { root });
    for (const t of twins) expect(leftoversOf(t)).toEqual([]);
  });

  it(`boots ${PARALLEL} subhosts in parallel, each with its own name, MAC and loops, and stops them all`, async () => {
    const subs: DiskSubhost[] = [];
    for (let i = 0; i < PARALLEL; i++) subs.push(await createDiskSubhost(root, testName('n'), { bridges: [bridge], dataDisk: false, hostname: `guest-${i}` }));
    made.push(...subs.map((s) => s.name));
    const booted = await Promise.all(subs.map((s) => cliAsync(['boot', s.name], { root })));
    booted.forEach((r, i) => expect(r.code, `${subs[i].name}: ${r.stderr}`).toBe(0));
    const pid1s = new Set<number>();
    for (const [i, s] of subs.entries()) {
      const st = statusOf(root, s.name);
      expect(st.state).toBe('running');
      pid1s.add(st.pid1);
      const sh = (script: string) => ok(['enter', s.name, '--', '/bin/sh', '-c', script], { root }).stdout.trim();
      expect(sh('hostname')).toBe(`guest-${i}`);
      const mac = deriveMac(s.name, 0);
      expect(st.interfaces[0]).toMatchObject({ host: `${s.name}0`, mac, bridge });
      expect(sh('cat /sys/class/net/eth0/address')).toBe(mac);
      expect(linkMaster(`${s.name}0`)).toBe(bridge);
      expect(readIfalias(`${s.name}0`)).toBe(`subhost:${s.name}`);
      // /dev/vda1 inside is the loop partition made from this subhost's own image.
      const disk = st.disks[0];
      expect(listLoops().find((l) => l.dev === wholeDevice(disk.device))?.backingFile).toBe(s.disk1);
      expect(blockNumbers(disk.device)).toEqual({ major: disk.major, minor: disk.minor });
      expect(sh("stat -c '%t %T' /dev/vda1").split(' ').map((x) => parseInt(x, 16))).toEqual([disk.major, disk.minor]);
    }
    expect(pid1s.size).toBe(PARALLEL);
    const check = cli(['check-mounts', ...subs.map((s) => s.name)], { root });
    expect(check.code, check.stdout).toBe(0);
    const stopped = await Promise.all(subs.map((s) => cliAsync(['stop', s.name], { root })));
    stopped.forEach((r, i) => {
      expect(r.code, `${subs[i].name}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toBe(`${subs[i].name}: stopped\n`);
    });
    for (const s of subs) expect(leftoversOf(s.name)).toEqual([]);
    for (const p of pid1s) expect(isAlive(procRef(p))).toBe(false);
  });

  it('waits for a boot in progress before stopping (stop during boot)', async () => {
    const boot = cliAsync(['boot', sub.name], { root });
    await waitFor('the boot to hold the lock', () => leftoversOf(sub.name).some((l) => l.kind === 'state'), 10_000, 5);
    const stop = await cliAsync(['stop', sub.name], { root });
    expect((await boot).code).toBe(0);
    expect(stop).toMatchObject({ code: 0, stdout: `${sub.name}: stopped\n` });
    expect(leftoversOf(sub.name)).toEqual([]);
  });
});
