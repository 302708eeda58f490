import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { CgroupSet } from '../../src/core/cgroups/subhost-cgroups';
import { collectUsage, usageTargets } from '../../src/core/usage/collect';
import { HeldFiles } from '../../src/core/usage/files';
import { Runtime } from '../../src/core/state/runtime';
import { findCgroup2Mount } from '../../src/host/cgroupfs';
import { bpfAddon } from '../../src/host/bpf-addon';
import { closeSync, openSync, readFileSync } from 'node:fs';
import type { UsageTarget } from '../../src/core/usage/read';
import { readStat } from '../../src/host/proc';
import { makeTestRoot, removeTestRoot, testName, waitFor } from '../helpers/env';

/** The daemon keeps cgroup files open between samples (pread at 0): what the kernel does with them. */
describe('usage through held cgroup files (the daemon)', () => {
  const mount = findCgroup2Mount();
  const name = testName('h');
  const set = CgroupSet.at(mount, `subhost/${name}`);
  const root = makeTestRoot();
  const rt = Runtime.fromEnv({ ...process.env, SUBHOST_ROOT: root });
  const files = new HeldFiles();
  const sleeps: ChildProcess[] = [];
  // Moved in while it still execs: compared reads need it asleep, when its CPU time no longer grows.
  const addSleep = async () => {
    const c = spawn('sleep', ['600'], { stdio: 'ignore', detached: true });
    sleeps.push(c);
    set.addProc(c.pid!);
    await waitFor('sleep asleep', () => {
      const st = readStat(c.pid!);
      return st?.comm === 'sleep' && st.state === 'S';
    });
  };
  const ours = (fs = files) => collectUsage(rt, [name], fs)[0];
  const without = ({ time: _t, ...r }: ReturnType<typeof ours>) => r;

  afterAll(async () => {
    files.close();
    await set.remove();
    removeTestRoot(root);
  });

  it('gives the records of usage, and reads fresh figures from the same open files', async () => {
    set.create();
    await addSleep();
    const first = ours();
    expect(first.tasks.count).toBe(1);
    // Held and one-shot reads of the same idle cgroup: the same record.
    expect(without(first)).toEqual(without(collectUsage(rt, [name])[0]));
    files.sweep();
    const held = files.size;
    expect(held).toBeGreaterThan(0);
    await addSleep();
    expect(ours().tasks.count).toBe(2);
    expect(files.size).toBe(held);
    files.sweep();
  });

  it('reads a cgroup made anew under the same name, not the removed one (ENODEV, then a fresh open)', async () => {
    await set.remove();
    set.create();
    await addSleep();
    const again = ours();
    expect(again.tasks.count).toBe(1);
    expect(again.memory.currentBytes).not.toBeNull();
    expect(without(again)).toEqual(without(collectUsage(rt, [name])[0]));
    files.sweep();
  });

  it("reads a held file with the addon's pread: its text now, and null once its cgroup is gone", async () => {
    const fd = openSync(`${set.v2.path}/cgroup.procs`, 'r');
    try {
      const pids = () => bpfAddon().preadText!(fd);
      expect(pids()).toBe(readFileSync(`${set.v2.path}/cgroup.procs`, 'latin1'));
      await addSleep();
      // The same descriptor, read again from 0: the kernel's text of now (one pid more).
      expect(pids()).toBe(readFileSync(`${set.v2.path}/cgroup.procs`, 'latin1'));
      expect(pids()!.trim().split('\n')).toHaveLength(2);
      await set.remove();
      expect(pids()).toBeNull();
    } finally {
      closeSync(fd);
    }
    set.create();
    await addSleep();
  });

  it('keeps the same target objects from one sample to the next, and forgets a removed cgroup', async () => {
    const known = new Map<string, UsageTarget>();
    const first = usageTargets(mount, known).find((t) => t.name === name);
    expect(first).toBeDefined();
    expect(usageTargets(mount, known).find((t) => t.name === name)).toBe(first);
    expect(known.get(`subhost/${name}`)).toBe(first);
    await set.remove();
    usageTargets(mount, known);
    expect(known.has(`subhost/${name}`)).toBe(false);
    set.create();
    await addSleep();
    expect(usageTargets(mount, known).find((t) => t.name === name)).not.toBe(first);
  });

  it('closes the files of a cgroup gone at the next sweep', async () => {
    await set.remove();
    expect(() => collectUsage(rt, [name], files)).toThrow(/no subhost or VM named/);
    files.sweep();
    expect(files.size).toBe(0);
  });
});
