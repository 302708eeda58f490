import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cgroup, findCgroup2Mount } from '../../src/host/cgroupfs';
import { nativeProgram } from '../../src/host/bpf-addon';
import { makeFifo } from '../../src/host/spawn-session';
import { CGROUP_MONITOR, CGROUP_PARENT } from '../../src/core/state/paths';
import { makeTestRoot, removeTestRoot, testName, waitFor } from '../helpers/env';
import { cgroup2Of as cgroupOf, childrenOf } from '../helpers/procs';

const SUPERVISOR = nativeProgram('supervisor');
const cg2 = findCgroup2Mount();

// The supervisor by itself (boot's tests run it with a real guest): a stand-in for pivot-exec as PID 1
// of unshare's namespaces, /bin/echo for `subhost _reap` (its words land in the log), test cgroups.
describe('supervisor', () => {
  const dir = makeTestRoot();
  const name = testName('sv');
  const guest = new Cgroup(join(cg2, CGROUP_PARENT, name));
  const monitor = new Cgroup(join(cg2, CGROUP_MONITOR, name));
  const log = join(dir, 'console.log');
  const fifo = join(dir, 'console.fifo');
  const pivot = join(dir, 'pivot');
  const run = join(dir, 'run');

  beforeAll(() => {
    guest.create();
    monitor.create();
    mkdirSync(join(run, name), { recursive: true });
    // As pivot-exec is run: ROOT INIT NETNS CAPS; what it does comes from PIVOT_DOES.
    writeFileSync(pivot, '#!/bin/sh\necho "args: $*"\neval "$PIVOT_DOES"\n', { mode: 0o755 });
  });
  afterAll(async () => {
    for (const c of [guest, monitor]) {
      c.kill();
      await c.waitEmpty(5000);
      c.remove();
    }
    removeTestRoot(dir);
  });

  const env = (does: string, extra: Record<string, string> = {}) => ({
    PATH: process.env.PATH!,
    PIVOT_DOES: does,
    SUBHOST_NAME: name,
    SUBHOST_BOOT_ID: 'b1',
    SUBHOST_CGROUP_PROCS: guest.file('cgroup.procs'),
    SUBHOST_MONITOR_PROCS: monitor.file('cgroup.procs'),
    SUBHOST_PIVOT: pivot,
    SUBHOST_LIVE: '/live',
    SUBHOST_INIT: '/init',
    SUBHOST_NETNS: '/netns',
    SUBHOST_CAPS_DROP: '1,2',
    SUBHOST_FIFO: fifo,
    SUBHOST_LOG: log,
    SUBHOST_LOG_MAX: '1000',
    SUBHOST_NODE: '/bin/echo',
    SUBHOST_CLI: 'CLI',
    SUBHOST_ROOT: '/root-dir',
    SUBHOST_RUN: run,
    ...extra,
  });

  /** Start it as boot does: a session of its own, stdout and stderr on the log that boot began. */
  async function supervise(does: string, extra: Record<string, string> = {}, wrap: string[] = []) {
    await makeFifo(fifo, 0o600).catch(() => undefined);
    writeFileSync(log, 'boot began\n');
    const fd = openSync(log, 'a');
    const argv = [...wrap, SUPERVISOR];
    const child = spawn(argv[0], argv.slice(1), { detached: true, stdio: ['ignore', fd, fd, 'pipe'], env: env(does, extra) });
    closeSync(fd);
    const ended = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    return { pid: child.pid!, ended };
  }

  it('runs the stand-in in new namespaces, copies its console into the log, rotating by size as split did, and runs _reap with its status', async () => {
    // 1500 bytes: the first 1000 go on the log boot began; the next part moves it to .1.
    const s = await supervise('head -c 1500 /dev/zero | tr "\\0" a; exit 3');
    expect(await s.ended).toBe(0);
    // The stand-in's console went through the FIFO into the log, and it was PID 1 of a namespace.
    const console = `args: /live /init /netns 1,2\n${'a'.repeat(1500)}`;
    expect(readFileSync(`${log}.1`, 'utf8')).toBe(`boot began\n${console.slice(0, 1000)}`);
    expect(readFileSync(log, 'utf8')).toBe(`${console.slice(1000)}CLI _reap ${name} --boot-id b1 --status 3 --root /root-dir\n`);
  });

  it('joins the monitor, copies in the guest cgroup, and after its copier is killed copies from outside until the console ends', async () => {
    const go = join(dir, 'go');
    const s = await supervise(`echo one; while [ ! -e ${go} ]; do sleep 0.02; done; echo two; echo "pid1: $$"; exit 0`);
    try {
      const comm = (p: number) => readFileSync(`/proc/${p}/comm`, 'utf8').trim();
      const first = await waitFor('the copier', () => childrenOf(s.pid).find((p) => comm(p) === 'console-copy') ?? 0);
      await waitFor('"one" in the log', () => readFileSync(log, 'utf8').includes('one\n'));
      // It joins its monitor once it has forked the stage and the copier (beside PID 1's start).
      await waitFor('the supervisor in its monitor', () => cgroupOf(s.pid) === `/${CGROUP_MONITOR}/${name}`);
      expect(cgroupOf(first)).toBe(`/${CGROUP_PARENT}/${name}`);
      // The stage joined the guest cgroup before unshare: PID 1 is in it.
      const stage = childrenOf(s.pid).find((p) => comm(p) === 'unshare')!;
      expect(cgroupOf(childrenOf(stage)[0])).toBe(`/${CGROUP_PARENT}/${name}`);
      process.kill(first, 'SIGKILL');
      const second = await waitFor('a new copier', () => childrenOf(s.pid).find((p) => p !== first && comm(p) === 'console-copy') ?? 0);
      expect(cgroupOf(second)).toBe(`/${CGROUP_MONITOR}/${name}`);
    } finally {
      writeFileSync(go, '');
    }
    expect(await s.ended).toBe(0);
    const text = readFileSync(log, 'utf8');
    expect(text).toContain('one\ntwo\npid1: 1\n');
    expect(text).toContain(`CLI _reap ${name} --boot-id b1 --status 0 --root /root-dir\n`);
  });

  it('clones the stage and the copier into the guest cgroup, never writing its cgroup.procs, and joins its monitor after both', async () => {
    // A write to cgroup.procs waits for an RCU grace period when no migration came just before (10-40 ms
    // on the development VM, before PID 1 could start); clone3's CLONE_INTO_CGROUP waits for none.
    const trace = join(dir, 'trace');
    const s = await supervise('echo "pid1: $$"', {}, ['strace', '-f', '-qq', '-e', 'trace=clone3,openat', '-o', trace]);
    expect(await s.ended).toBe(0);
    expect(readFileSync(log, 'utf8')).toContain('pid1: 1\n');
    const lines = readFileSync(trace, 'utf8').split('\n');
    const into = lines.flatMap((l, i) => (/clone3\(\{flags=CLONE_INTO_CGROUP, [^}]*cgroup=\d+\}, \d+\) = [1-9]/.test(l) ? [i] : []));
    expect(into).toHaveLength(2);
    const writes = (procs: string) => lines.flatMap((l, i) => (l.includes(`openat(AT_FDCWD, "${procs}", O_WRONLY`) ? [i] : []));
    expect(writes(guest.file('cgroup.procs'))).toEqual([]);
    const joined = writes(monitor.file('cgroup.procs'));
    expect(joined).toHaveLength(1);
    expect(joined[0]).toBeGreaterThan(into[1]);
  });

  it('leaves the release to a command at work: no _reap when the record has an "op"', async () => {
    writeFileSync(join(run, name, 'state.json'), '{\n "name": "x",\n "op": "poweroff"\n}\n');
    const s = await supervise('echo bye');
    expect(await s.ended).toBe(0);
    expect(readFileSync(log, 'utf8')).toBe('boot began\nargs: /live /init /netns 1,2\nbye\n');
    writeFileSync(join(run, name, 'state.json'), '{\n "name": "x",\n "ops": { "op": "y" }\n}\n');
    const t = await supervise('echo bye');
    expect(await t.ended).toBe(0);
    expect(readFileSync(log, 'utf8')).toContain('CLI _reap');
  });

  it('refuses bad usage and a missing setting in one line, and the stage exits 112 on a cgroup it cannot join, before unshare', () => {
    const r = (args: string[], e: Record<string, string>) => spawnSync(SUPERVISOR, args, { encoding: 'utf8', env: e });
    expect(r(['x'], {})).toMatchObject({ status: 1, stderr: 'supervisor: usage: supervisor [stage]\n' });
    expect(r([], { SUBHOST_NAME: name })).toMatchObject({ status: 1, stderr: 'supervisor: SUBHOST_FIFO is not set\n' });
    expect(r([], env('', { SUBHOST_LOG_MAX: '1k' }))).toMatchObject({ status: 1, stderr: 'supervisor: SUBHOST_LOG_MAX is not a size in bytes: 1k\n' });
    // Every setting is looked at before anything is done: the stand-in never runs.
    const ran = join(dir, 'ran');
    const { SUBHOST_ROOT: _root, ...noRoot } = env(`touch ${ran}`);
    expect(r([], noRoot)).toMatchObject({ status: 1, stderr: 'supervisor: SUBHOST_ROOT is not set\n' });
    const { SUBHOST_CAPS_DROP: _caps, ...noCaps } = env(`touch ${ran}`);
    expect(r(['stage'], noCaps)).toMatchObject({ status: 1, stderr: 'supervisor: SUBHOST_CAPS_DROP is not set\n' });
    const missing = join(dir, 'no-cgroup', 'cgroup.procs');
    const stage = r(['stage'], env(`touch ${ran}`, { SUBHOST_CGROUP_PROCS: missing }));
    expect(stage).toMatchObject({ status: 112, stdout: '', stderr: `supervisor: cannot write 0 to ${missing}: No such file or directory\n` });
    expect(existsSync(ran)).toBe(false);
  });
});
