import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isAlive } from '../../src/host/proc';
import { readState } from '../../src/core/state/records';
import { Paths } from '../../src/core/state/paths';
import { cli, ok } from '../helpers/cli';
import { makeTestRoot, PREFIX, removeTestRoot, testName, waitFor } from '../helpers/env';
import { createDiskSubhost, type DiskSubhost } from '../helpers/fixtures';
import { leftoversOf } from '../helpers/leaks';
import { createBridge, deleteBridge } from '../helpers/net';
import { bootAndSettle as bootAndSettleIn, enterSh, statusOf } from '../helpers/subhost';
import { sysvinitGuestFiles } from '../helpers/sysvinit';

const RUN = '/run/subhost';

/**
 * Every way a guest powers itself off or reboots, with no subhost command afterwards: the
 * supervisor sees PID 1 end and `_reap` releases (or boots again). Only files and /proc are read.
 */
describe.each([
  ['busybox', false],
  ['sysvinit', true],
])('guest-initiated power off and reboot (%s tools)', (_tools, sysvinit) => {
  const root = makeTestRoot();
  const bridge = `${PREFIX}gbr${process.pid % 1000}${sysvinit ? 's' : 'b'}`;
  const paths = new Paths(root, RUN);
  let sub: DiskSubhost;
  const sh = (script: string) => enterSh(root, sub.name, script);
  const record = () => readState(paths, sub.name);
  const leftovers = () => leftoversOf(sub.name);
  const bootAndSettle = () => bootAndSettleIn(root, sub.name);

  /** Run CMD inside, then only watch: within 5 s (SPEC §3) PID 1, its state and every resource are gone. */
  async function expectReleasedAfter(cmd: string): Promise<void> {
    const pid1 = await bootAndSettle();
    sh(cmd);
    await waitFor('every resource to be released', () => !isAlive(pid1) && !existsSync(paths.runDir(sub.name)) && leftovers().length === 0, 5000, 20);
    expect(leftovers()).toEqual([]);
  }

  async function expectRebootAfter(cmd: string): Promise<void> {
    const pid1 = await bootAndSettle();
    const firstBoot = record()!.bootId;
    sh(cmd);
    await waitFor('a new boot', () => {
      const r = record();
      return r !== undefined && r.bootId !== firstBoot && r.phase === 'running' && !r.op && isAlive(r.pid1) && !isAlive(pid1);
    }, 15_000);
    await waitFor('rc 2 of the new boot', () => sh('cat /run/rc.ran').stdout.trim() === '2');
    expect(statusOf(root, sub.name)).toMatchObject({ state: 'running', interfaces: [{ host: `${sub.name}0` }] });
    expect(ok(['logs', sub.name], { root }).stdout).toMatch(/PID 1 ended \(status 129\); rebooting[\s\S]*booted again/);
    ok(['poweroff', sub.name], { root });
    expect(leftovers()).toEqual([]);
  }

  /** The child of PID 1 reading /run/initctl (its stdin, or still opening it: openat is 257), by host PID. */
  function initctlReader(pid1: number): number {
    const children = readFileSync(`/proc/${pid1}/task/${pid1}/children`, 'utf8').trim().split(' ').map(Number);
    const readers = children.filter((c) => {
      try {
        return readlinkSync(`/proc/${c}/fd/0`).endsWith('/initctl') || readFileSync(`/proc/${c}/syscall`, 'utf8').startsWith('257 ');
      } catch {
        return false;
      }
    });
    expect(readers).toHaveLength(1);
    return readers[0];
  }

  beforeAll(async () => {
    await createBridge(bridge);
    sub = await createDiskSubhost(root, testName(sysvinit ? 'gs' : 'gb'), { bridges: [bridge], files: sysvinit ? sysvinitGuestFiles() : {} });
  });
  // One failed case must not leave the next one a running subhost.
  afterEach(() => {
    cli(['stop', sub.name], { root });
  });
  afterAll(async () => {
    await deleteBridge(bridge);
    removeTestRoot(root);
  });

  const offs = sysvinit
    ? ['/sbin/poweroff', '/sbin/halt', '/sbin/shutdown -h now', '/sbin/shutdown -h -P now', '/sbin/telinit 0', '/sbin/init 0']
    : ['poweroff', 'halt', 'poweroff -f', 'halt -f', 'echo poweroff > /run/initctl', 'kill -INT 1'];
  it.each(offs)('`%s` releases everything within 5 s, by itself', async (cmd) => {
    if (sysvinit) expect(sh(`ls -l ${cmd.split(' ')[0]}`).stdout).not.toContain('busybox');
    await expectReleasedAfter(cmd);
    expect(ok(['logs', sub.name], { root }).stdout).toMatch(/PID 1 ended \(status (0|130)\); releasing/);
  });

  it('keeps a request written just as the reader of /run/initctl ends (sysvinit writes two in a row)', async () => {
    const pid1 = await bootAndSettle();
    const firstBoot = record()!.bootId;
    const reader = initctlReader(pid1.pid);
    // strace holds the reader at its exit (after it has read), the moment a second writer can come.
    const trace = spawn('strace', ['-qq', '-o', '/dev/null', '-e', 'trace=exit_group', '-e', 'inject=exit_group:delay_enter=1500000', '-p', String(reader)], { stdio: 'ignore' });
    try {
      await waitFor('strace to attach', () => /^TracerPid:\s+[1-9]/m.test(readFileSync(`/proc/${reader}/status`, 'utf8')), 5000, 10);
      // A request that changes nothing (runlevel 2), then, while the reader is held, a reboot.
      expect(sh("printf '\\151\\031\\011\\003\\001\\000\\000\\000\\062\\000\\000\\000' > /run/initctl").code).toBe(0);
      await waitFor('the reader to reach exit_group', () => readFileSync(`/proc/${reader}/syscall`, 'utf8').startsWith('231 '), 5000, 10);
      expect(sh('echo reboot > /run/initctl').code).toBe(0);
      await waitFor('a new boot', () => {
        const r = record();
        return r !== undefined && r.bootId !== firstBoot && r.phase === 'running' && !r.op && !isAlive(pid1);
      }, 15_000);
    } finally {
      trace.kill('SIGKILL');
    }
    ok(['poweroff', sub.name], { root });
    expect(leftovers()).toEqual([]);
  });

  const reboots = sysvinit ? ['/sbin/reboot', '/sbin/shutdown -r now', '/sbin/telinit 6'] : ['reboot', 'reboot -f', 'echo reboot > /run/initctl'];
  it.each(reboots)('`%s` boots it again', async (cmd) => {
    await expectRebootAfter(cmd);
  });
});

describe('subhost poweroff --timeout, on a guest that does not finish in time', () => {
  const root = makeTestRoot();
  let sub: DiskSubhost;
  // A daemon that ignores SIGTERM (the disposition survives exec): subhost-init's power off waits its
  // 10 s grace for it before SIGKILL, far past the 1 s that poweroff is given here.
  const STUBBORN = { mode: 0o755, content: "#!/bin/sh\nsh -c \"trap '' TERM; exec sleep 600\" </dev/null >/dev/null 2>&1 &\n" };

  beforeAll(async () => {
    sub = await createDiskSubhost(root, testName('to'), { dataDisk: false, files: { 'etc/rc2.d/S50stubborn': STUBBORN } });
  });
  afterAll(() => {
    cli(['stop', sub.name], { root });
    removeTestRoot(root);
  });

  it('kills it after the timeout, warns, exits 0 and leaves nothing', async () => {
    const pid1 = await bootAndSettleIn(root, sub.name);
    const stubborn = enterSh(root, sub.name, 'for f in /proc/[0-9]*/status; do grep -q "^Name:.sleep" "$f" && grep "^SigIgn:" "$f"; done').stdout.trim();
    // SIGTERM (15) is bit 14 of the ignored mask.
    expect((BigInt(`0x${stubborn.split(/\s+/)[1]}`) >> 14n) & 1n).toBe(1n);
    const started = Date.now();
    const r = cli(['poweroff', sub.name, '--timeout', '1'], { root });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${sub.name}: powered off\n`);
    expect(r.stderr).toBe(`subhost: warning: ${sub.name}: did not power off within 1 s; killed\n`);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(isAlive(pid1)).toBe(false);
    // The guest had begun its own power off: the request reached it.
    expect(ok(['logs', sub.name], { root }).stdout).toContain('subhost-init: poweroff');
    expect(leftoversOf(sub.name)).toEqual([]);
    expect(statusOf(root, sub.name).state).toBe('stopped');
  });
});
