import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cgroup, findCgroup2Mount } from '../../src/host/cgroupfs';
import { run } from '../../src/host/exec';
import { DROPPED_CAPABILITIES } from '../../src/core/capabilities';
import { listLoops } from '../../src/host/loop';
import { readMountinfo } from '../../src/host/mountinfo';
import { isAlive, procRef, readCmdline } from '../../src/host/proc';
import { cli, ok } from '../helpers/cli';
import { makeTestRoot, removeTestRoot, testName, waitFor } from '../helpers/env';
import { createBusyboxTree, createDiskSubhost, createLayerSubhost, type DiskSubhost, type LayerSubhost } from '../helpers/fixtures';
import { capBnd } from '../helpers/guest';
import { leftoversOf } from '../helpers/leaks';
import { startFromPipe, startOnTerminal } from '../helpers/session';
import { statusOf } from '../helpers/subhost';

describe('subhost start: terminal, job control, and a start that is killed', () => {
  const root = makeTestRoot();
  const base = join(root, 'base');
  let sub: LayerSubhost;
  const status = (name = sub.name) => statusOf(root, name);
  const left = (name = sub.name) => leftoversOf(name);
  const cgroupProcs = (name = sub.name) => new Cgroup(`${findCgroup2Mount()}/subhost/${name}`).allProcs();

  beforeAll(async () => {
    await createBusyboxTree(base);
    sub = await createLayerSubhost(root, testName('t'), { base });
  });
  afterAll(() => {
    cli(['stop', sub.name], { root });
    removeTestRoot(root);
  });

  it('on a terminal, PID 1 is a login shell in its own session with the pty as its controlling terminal, and job control works', async () => {
    const s = startOnTerminal(sub.name, root);
    try {
      await s.expectOutput(`${sub.name}:~# `);
      const pid1 = status().pid1;
      expect(readCmdline(pid1)).toEqual(['/bin/sh', '-l']);
      s.write('echo FLAGS=$- M-$((6*7))\n');
      await s.expectOutput('M-42');
      // Interactive (i) with job control, the monitor mode (m): the shell found its terminal.
      expect(s.stdout()).toMatch(/FLAGS=[a-z]*i/);
      expect(s.stdout()).toMatch(/FLAGS=[a-z]*m/);
      expect(s.stdout()).not.toContain('job control turned off');

      // /proc/1/stat fields 5-8: process group, session, tty, foreground process group (this pipeline's).
      s.write('cut -d" " -f5-8 /proc/1/stat | sed "s/^/STAT=/"\n');
      await s.expectOutput(/STAT=\d+ \d+ \d+ \d+/);
      const [pgrp, session, ttyNr, tpgid] = /STAT=(\d+) (\d+) (\d+) (\d+)/.exec(s.stdout())!.slice(1).map(Number);
      expect({ pgrp, session }).toEqual({ pgrp: 1, session: 1 });
      expect(ttyNr).toBeGreaterThan(0);
      expect(tpgid).not.toBe(1);

      // ^C reaches the foreground job through the pty, not the shell or `subhost start`.
      s.write('sleep 301\n');
      await waitFor('sleep 301 to run', () => cgroupProcs().some((p) => readCmdline(p).join(' ') === 'sleep 301'));
      s.write('\x03');
      await waitFor('sleep 301 to end', () => !cgroupProcs().some((p) => readCmdline(p).join(' ') === 'sleep 301'));
      s.write('echo AFTER-$((7*7))\n');
      await s.expectOutput('AFTER-49');
      expect(status().pid1).toBe(pid1);

      // ^Z stops the foreground job, jobs lists it, kill %1 ends it.
      s.write('sleep 321\n');
      await waitFor('sleep to run', () => cgroupProcs().some((p) => readCmdline(p).join(' ') === 'sleep 321'));
      s.write('\x1a');
      await s.expectOutput(/\[1\]\+\s+Stopped\s+sleep 321/);
      s.write('jobs; echo JOBS-$((1+1))\n');
      await s.expectOutput('JOBS-2');
      expect(s.stdout().split('JOBS-2')[0].match(/\[1\]\+\s+Stopped\s+sleep 321/g)?.length).toBe(2);
      // jobs reports the killed job, so that exit does not stop at "You have stopped jobs".
      s.write('kill -9 %1; sleep 0.2; jobs; echo KILLED-$((2+1))\n');
      await s.expectOutput('KILLED-3');
      expect(s.stdout()).toMatch(/\[1\]\+\s+Killed\s+sleep 321/);
      expect(cgroupProcs().some((p) => readCmdline(p).join(' ') === 'sleep 321')).toBe(false);

      s.write('exit\n');
      await s.expectOutput(`${sub.name}: hibernated`);
      expect((await s.exited).code, s.stdout()).toBe(0);
    } finally {
      s.kill();
    }
    expect(status().state).toBe('hibernated');
    expect(cgroupProcs()).toEqual([]);
  });

  it('SIGTERM to `subhost start` ends the shell and hibernates', async () => {
    const s = startFromPipe(sub.name, root);
    try {
      s.write('echo UP-$((3*3))\n');
      await s.expectOutput('UP-9');
      s.child.kill('SIGTERM');
      const end = await s.exited;
      expect(end.code).toBe(128 + 9);
      expect(s.stderr()).toContain(`${sub.name}: hibernated`);
    } finally {
      s.kill();
    }
    expect(status().state).toBe('hibernated');
    expect(cgroupProcs()).toEqual([]);
  });

  it('SIGHUP to `subhost start` (its terminal went away) ends the shell and hibernates', async () => {
    const s = startFromPipe(sub.name, root);
    try {
      s.write('echo UP-$((3*4))\n');
      await s.expectOutput('UP-12');
      const pid1 = procRef(status().pid1)!;
      s.child.kill('SIGHUP');
      const end = await s.exited;
      expect(end.code).toBe(128 + 9);
      expect(s.stderr()).toContain(`${sub.name}: hibernated`);
      expect(isAlive(pid1)).toBe(false);
    } finally {
      s.kill();
    }
    expect(status().state).toBe('hibernated');
    expect(cgroupProcs()).toEqual([]);
  });

  it('poweroff ends the shell and releases everything; start then says so', async () => {
    const s = startFromPipe(sub.name, root);
    try {
      s.write('echo UP-$((4*4))\n');
      await s.expectOutput('UP-16');
      // A shell reading a pipe does not handle SIGHUP, and as PID 1 never gets it: killed without waiting.
      const r = ok(['poweroff', sub.name, '--timeout', '60'], { root });
      expect(r.stdout).toBe(`${sub.name}: powered off\n`);
      expect(r.stderr).toBe(`subhost: warning: ${sub.name}: its PID 1 does not handle the power-off signal; killed\n`);
      await s.exited;
      expect(s.stderr()).toBe(`${sub.name}: stopped while its shell ran\n`);
    } finally {
      s.kill();
    }
    expect(left()).toEqual([]);
  });

  it('a `subhost start` killed while its shell runs: running, then failed when the shell ends; stop cleans up', async () => {
    const s = startFromPipe(sub.name, root);
    try {
      s.write('echo UP-$((5*5))\n');
      await s.expectOutput('UP-25');
      // The CLI dies; the shell keeps reading the pipe.
      s.child.kill('SIGKILL');
      await s.died;
      expect(status().state).toBe('running');
      expect(cli(['enter', sub.name, '--', 'true'], { root }).code).toBe(0);
      s.write('echo STILL-$((6*6))\n');
      await s.expectOutput('STILL-36');
      await s.end();
      await waitFor('the shell to end', () => status().state === 'failed');
      expect(status().reason).toMatch(/no `subhost start` left to hibernate the subhost; `subhost stop .*` cleans up/);
    } finally {
      s.kill();
    }
    ok(['stop', sub.name], { root });
    expect(left()).toEqual([]);
  });

  it('a `subhost start` killed at any step of its plan leaves a failed subhost that stop cleans up', async () => {
    const steps = Number(/: (\d+) steps/.exec(ok(['start', sub.name, '--dry-run'], { root }).stdout)![1]);
    expect(steps).toBeGreaterThanOrEqual(5);
    for (let at = 1; at <= steps; at++) {
      const r = cli(['start', sub.name], { root, env: { SUBHOST_TEST_KILL_AT_STEP: String(at) } });
      expect(r.code, `step ${at}: ${r.stderr}`).toBeNull();
      expect(status()).toMatchObject({ state: 'failed', reason: expect.stringContaining('`subhost start`') });
      expect(cli(['start', sub.name], { root }).stderr).toMatch(/is failed: .*`subhost stop .*` cleans up/);
      ok(['stop', sub.name], { root });
      expect(left(), `killed before step ${at}`).toEqual([]);
    }
  });

  it('a `subhost start` killed once its shell is started, before it said go: the shell never runs; failed; stop cleans up', () => {
    try {
      const r = cli(['start', sub.name], { root, input: 'echo ran\n', env: { SUBHOST_TEST_KILL_AT: 'start:after:start-shell' } });
      expect(r.code, r.stderr).toBeNull();
      expect(r.stdout).not.toContain('ran');
      expect(status()).toMatchObject({ state: 'failed', reason: expect.stringContaining('`subhost start`') });
      ok(['stop', sub.name], { root });
      expect(left()).toEqual([]);
    } finally {
      // The next cases need the subhost stopped, also when this one failed half-way.
      cli(['stop', sub.name], { root });
    }
  });

  it('so does a resume killed at any step; a hibernated subhost killed before resuming still stops clean', async () => {
    for (let at = 1; at <= 2; at++) {
      const first = cli(['start', sub.name], { root, input: 'exit 0\n' });
      expect(first.code, first.stderr).toBe(0);
      expect(status().state).toBe('hibernated');
      const r = cli(['start', sub.name], { root, env: { SUBHOST_TEST_KILL_AT_STEP: String(at) } });
      expect(r.code).toBeNull();
      expect(status().state).toBe('failed');
      ok(['stop', sub.name], { root });
      expect(left(), `resume killed before step ${at}`).toEqual([]);
    }
  });

  it('a resume whose root was unmounted meanwhile is refused; it stays hibernated and stop cleans up', async () => {
    expect(cli(['start', sub.name], { root, input: 'exit 0\n' }).code).toBe(0);
    await run(['umount', join(sub.dir, 'live')]);
    const r = cli(['start', sub.name], { root, input: 'echo should not run\n' });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(new RegExp(`^subhost: start a shell .*: ${join(sub.dir, 'live')} is not mounted any more \\(\`subhost stop ${sub.name}\` releases the rest\\)\n$`));
    expect(status().state).toBe('hibernated');
    ok(['stop', sub.name], { root });
    expect(left()).toEqual([]);
  });
});

describe('subhost start on a disk image', () => {
  const root = makeTestRoot();
  let sub: DiskSubhost;
  const status = () => statusOf(root, sub.name);
  const loops = () => listLoops().filter((l) => l.backingFile === sub.disk1 || l.backingFile === sub.disk2).map((l) => l.dev).sort();

  beforeAll(async () => {
    sub = await createDiskSubhost(root, testName('sd'));
  });
  afterAll(() => {
    cli(['stop', sub.name], { root });
    removeTestRoot(root);
  });

  it('gives the shell its block devices, and hardens that PID 1 as boot does', async () => {
    const s = startFromPipe(sub.name, root);
    try {
      s.write('for n in vda1 vdb1; do test -b /dev/$n && echo "BLOCK-$n $(stat -c "%t:%T" /dev/$n)"; done; echo LISTED\n');
      await s.expectOutput('LISTED');
      const st = status();
      expect(st).toMatchObject({ state: 'running', mode: 'start', kind: 'disk' });
      for (const d of st.disks) {
        expect(s.stdout()).toContain(`BLOCK-${d.node} ${d.major.toString(16)}:${d.minor.toString(16)}`);
      }
      expect(st.disks.map((d: { node: string }) => d.node)).toEqual(['vda1', 'vdb1']);
      s.write('mount /dev/vdb1 /data && echo from-start > /data/f && umount /data && echo MOUNTED-$((20+1))\n');
      await s.expectOutput('MOUNTED-21');

      // The shell is PID 1 here, started the one way boot's subhost-init is: the same bounding set and /proc.
      expect(readCmdline(st.pid1)).toEqual(['/bin/sh']);
      const caps = capBnd(st.pid1);
      expect(caps).not.toContain('sys_module');
      for (const c of DROPPED_CAPABILITIES) expect(caps).not.toContain(c.cap);
      const mounts = readMountinfo(st.pid1);
      expect(mounts.filter((m) => m.mountPoint === '/proc/sys').pop()!.options).toContain('ro');
      expect(mounts.filter((m) => m.mountPoint === '/proc/sys/net').pop()!.options).toContain('rw');
      expect(mounts.filter((m) => m.mountPoint === '/sys').pop()!.options).toContain('ro');
      s.write('echo 1 > /proc/sys/kernel/domainname; echo "DOMAIN=$?"\n');
      await s.expectOutput(/DOMAIN=\d+/);
      expect(s.stdout()).toMatch(/DOMAIN=[1-9]/);
      expect(st.hardening.problems).toEqual([]);

      s.write('exit 0\n');
      expect((await s.end()).code, s.stderr()).toBe(0);
    } finally {
      s.kill();
    }
    expect(status().state).toBe('hibernated');
  });

  it('resumes on the same loop devices, with what the shell wrote', () => {
    const before = loops();
    expect(before.length).toBeGreaterThanOrEqual(2);
    const r = cli(['start', sub.name], { root, input: 'mount /dev/vdb1 /data && cat /data/f && umount /data\n' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('from-start\n');
    expect(loops()).toEqual(before);
    expect(status().state).toBe('hibernated');
    ok(['stop', sub.name], { root });
    expect(loops()).toEqual([]);
    expect(leftoversOf(sub.name)).toEqual([]);
  });
});
