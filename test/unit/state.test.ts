import { describe, expect, it } from 'vitest';
import { deriveState, newBootId, type StateRecord } from '../../src/core/state/records';
import type { ProcRef } from '../../src/host/proc';
import { kernelEvidence, type HostView } from '../../src/core/state/active';
import { Runtime } from '../../src/core/state/runtime';
import { Paths } from '../../src/core/state/paths';

const base: StateRecord = {
  version: 1,
  name: 'web1',
  root: '/opt/sub',
  bootId: 'b',
  mode: 'boot',
  phase: 'running',
  createdAt: '',
  config: { name: 'web1', disks: [], bridges: [], hostname: 'web1', limits: {}, autostart: false, tun: false, fromEnv: [] },
  applied: [],
  pid1: { pid: 10, start: 1 },
  supervisor: { pid: 9, start: 1 },
  warnings: [],
};
const aliveSet = (...pids: number[]) => (r?: ProcRef) => !!r && pids.includes(r.pid);

describe('deriveState', () => {
  it('is stopped without a record', () => {
    expect(deriveState(undefined)).toEqual({ state: 'stopped' });
  });
  it('is running while PID 1 lives', () => {
    expect(deriveState(base, aliveSet(9, 10))).toEqual({ state: 'running' });
  });
  it('is running, releasing, when PID 1 ended and the supervisor is still at work', () => {
    expect(deriveState(base, aliveSet(9))).toMatchObject({ state: 'running', busy: 'release' });
  });
  it('is failed when PID 1 and the supervisor are gone', () => {
    expect(deriveState(base, aliveSet())).toMatchObject({ state: 'failed' });
  });
  it('is failed when the command working on it died', () => {
    const r = { ...base, phase: 'starting' as const, op: { cmd: 'boot', pid: 77, start: 1 } };
    expect(deriveState(r, aliveSet())).toMatchObject({ state: 'failed', reason: expect.stringContaining('`subhost boot` (pid 77) was interrupted') });
  });
  it('shows the state before a command that is still running', () => {
    const r = { ...base, phase: 'starting' as const, op: { cmd: 'boot', pid: 77, start: 1 } };
    expect(deriveState(r, aliveSet(77))).toEqual({ state: 'stopped', busy: 'boot' });
    expect(deriveState({ ...base, phase: 'stopping', op: { cmd: 'stop', pid: 77, start: 1 } }, aliveSet(77))).toEqual({ state: 'running', busy: 'stop' });
  });
  it('is hibernated in that phase', () => {
    expect(deriveState({ ...base, phase: 'hibernated', mode: 'start' }, aliveSet())).toEqual({ state: 'hibernated' });
  });
});

describe('deriveState of a `subhost start` session', () => {
  const session: StateRecord = { ...base, mode: 'start', supervisor: undefined, attached: { pid: 20, start: 1 } };
  it('is running while the shell lives', () => {
    expect(deriveState(session, aliveSet(10, 20))).toEqual({ state: 'running' });
    expect(deriveState(session, aliveSet(10))).toEqual({ state: 'running' });
  });
  it('is running, hibernating, when the shell ended and `subhost start` is still there', () => {
    expect(deriveState(session, aliveSet(20))).toMatchObject({ state: 'running', busy: 'hibernate' });
  });
  it('is failed when the shell ended with no `subhost start` to hibernate it', () => {
    expect(deriveState(session, aliveSet())).toMatchObject({ state: 'failed', reason: expect.stringContaining('no `subhost start` left to hibernate') });
  });
  it('is hibernated while a resume runs, failed if the resume died', () => {
    const resuming = { ...session, phase: 'hibernated' as const, op: { cmd: 'start', pid: 30, start: 1 } };
    expect(deriveState(resuming, aliveSet(30))).toEqual({ state: 'hibernated', busy: 'start' });
    expect(deriveState(resuming, aliveSet())).toMatchObject({ state: 'failed' });
  });
});

describe('reboot back-off (issue 12, class 4)', () => {
  it('counts quick reboots in a row, doubles the wait, and gives up after MAX_QUICK_REBOOTS', async () => {
    const { rebootBackoff, MAX_QUICK_REBOOTS } = await import('../../src/core/lifecycle/reap');
    expect(rebootBackoff({}, 60)).toEqual({ streak: 0, delaySeconds: 0, giveUp: false });
    expect(rebootBackoff({}, 2)).toEqual({ streak: 1, delaySeconds: 1, giveUp: false });
    expect(rebootBackoff({ rebootStreak: 2 }, 2)).toEqual({ streak: 3, delaySeconds: 4, giveUp: false });
    expect(rebootBackoff({ rebootStreak: MAX_QUICK_REBOOTS }, 2).giveUp).toBe(true);
    expect(rebootBackoff({ rebootStreak: MAX_QUICK_REBOOTS }, 600)).toMatchObject({ streak: 0, giveUp: false });
  });
});

describe('kernelEvidence with a HostView', () => {
  // list asks about every subhost: the supervisors and mounts are read once into the view, and each name is judged from it.
  it("judges from the view's supervisors and mounts, read once and kept in it", () => {
    const rt = new Runtime(new Paths('/nonexistent-root', '/nonexistent-run'));
    Object.defineProperty(rt, 'cgroupMount', { value: '/nonexistent-cgroup' });
    const view: HostView = { monitor: [{ pid: 999999999, start: 1, name: 'zzsup' }], mounts: [] };
    expect(kernelEvidence(rt, 'zzsup', view)).toBe('its supervisor');
    expect(kernelEvidence(rt, 'zznone', view)).toBeUndefined();
    expect(view.monitor).toHaveLength(1);
    const fresh: HostView = {};
    expect(kernelEvidence(rt, 'zznone', fresh)).toBeUndefined();
    expect(fresh.monitor).toEqual([]);
    expect(fresh.mounts?.length).toBeGreaterThan(0);
  });
});

describe('newBootId', () => {
  it('is a random (version 4) UUID, new each time (the kernel\'s; that boot loads no node:crypto is boot\'s test)', () => {
    const ids = [newBootId(), newBootId(), newBootId()];
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(ids).size).toBe(3);
  });
});
