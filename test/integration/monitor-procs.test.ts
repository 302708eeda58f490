import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listMonitorProcs } from '../../src/core/lifecycle/supervisors';
import { kernelEvidence } from '../../src/core/state/active';
import { CGROUP_MONITOR } from '../../src/core/state/paths';
import { Runtime } from '../../src/core/state/runtime';
import { Cgroup, findCgroup2Mount } from '../../src/host/cgroupfs';
import { isAlive, procRef, signalProc, type ProcRef } from '../../src/host/proc';
import { testName, waitFor } from '../helpers/env';

/** stop looks for NAME's supervisors twice (before and after releasing): the second pass skips the others already seen. */
describe('the supervisors of one subhost in the monitor cgroup', () => {
  const mount = findCgroup2Mount();
  const [mine, theirs] = [testName('ma'), testName('mb')];
  const planted: ProcRef[] = [];
  const cgroups: Cgroup[] = [];
  /** A process naming `name` in subhost.monitor, or with `own` in subhost.monitor/NAME (where boot puts a supervisor). */
  const plant = (name: string, own = false, cgroupName = name): ProcRef => {
    const child = spawn('sleep', ['600'], { detached: true, stdio: 'ignore', env: { PATH: process.env.PATH, SUBHOST_NAME: name, SUBHOST_BOOT_ID: 'test' } });
    child.unref();
    const monitor = new Cgroup(join(mount, CGROUP_MONITOR, ...(own ? [cgroupName] : [])));
    monitor.create();
    if (own) cgroups.push(monitor);
    writeFileSync(join(monitor.path, 'cgroup.procs'), String(child.pid));
    const ref = procRef(child.pid!)!;
    planted.push(ref);
    return ref;
  };

  afterAll(async () => {
    for (const p of planted) signalProc(p, 'SIGKILL');
    await waitFor('planted sleeps gone', () => planted.every((p) => !isAlive(p)));
    for (const c of cgroups) c.remove();
  });

  it("finds NAME's own in both passes, and reads another's environment only in the first", () => {
    const other = plant(theirs);
    const first = plant(mine);
    const others = new Set<number>();
    expect(listMonitorProcs(mount, mine, others).map((p) => p.pid)).toEqual([first.pid]);
    expect(others.has(other.pid)).toBe(true);
    expect(others.has(first.pid)).toBe(false);
    // Seen as another's: skipped from now on, while a process of NAME that appeared since is found.
    const second = plant(mine);
    const again = listMonitorProcs(mount, mine, others);
    expect(again.map((p) => p.pid).sort()).toEqual([first.pid, second.pid].sort());
    expect(again.every((p) => p.name === mine && p.bootId === 'test')).toBe(true);
    expect(listMonitorProcs(mount, theirs, new Set()).map((p) => p.pid)).toEqual([other.pid]);
  });

  it("reads NAME's own monitor cgroup and not another subhost's", () => {
    const own = plant(mine, true);
    const elsewhere = plant(theirs, true);
    const others = new Set<number>();
    expect(listMonitorProcs(mount, mine, others).map((p) => p.pid)).toContain(own.pid);
    // Never listed, so never read: not even found to be another's.
    expect(others.has(elsewhere.pid)).toBe(false);
    expect(listMonitorProcs(mount).map((p) => p.pid)).toEqual(expect.arrayContaining([own.pid, elsewhere.pid]));
  });

  it("boot's and stop's one-name check (no host view) reads NAME's monitor cgroup only; list's view reads them all", () => {
    const [a, b] = [testName('mc'), testName('md')];
    const rt = Runtime.fromEnv({ ...process.env, SUBHOST_ROOT: '/nonexistent-subhost-root' });
    expect(kernelEvidence(rt, a)).toBeUndefined();
    // A process naming A in B's monitor cgroup is not A's supervisor to a check of A alone: B's cgroup is not read.
    plant(a, true, b);
    expect(kernelEvidence(rt, a)).toBeUndefined();
    expect(kernelEvidence(rt, a, {})).toBe('its supervisor');
    plant(a, true);
    expect(kernelEvidence(rt, a)).toBe('its supervisor');
  });
});
