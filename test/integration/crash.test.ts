import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bootPlan } from '../../src/core/lifecycle/boot';
import { Runtime } from '../../src/core/state/runtime';
import { Paths } from '../../src/core/state/paths';
import { readState } from '../../src/core/state/records';
import { SUBHOST_HANDLERS } from '../../src/core/steps/handlers';
import { run } from '../../src/host/exec';
import { linkExists, readIfalias } from '../../src/host/ip';
import { isAlive } from '../../src/host/proc';
import { readFileOr } from '../../src/host/read-file';
import { cli, ok } from '../helpers/cli';
import { makeTestRoot, PREFIX, removeTestRoot, testName, waitFor } from '../helpers/env';
import { createDiskSubhost, type DiskSubhost } from '../helpers/fixtures';
import { leftoversOf } from '../helpers/leaks';
import { createBridge, deleteBridge } from '../helpers/net';
import { bootAndSettle as bootAndSettleIn, statusOf } from '../helpers/subhost';

const RUN = '/run/subhost';

/**
 * Fault injection: `boot`, `stop` and `poweroff` SIGKILLed at every point of their work (the
 * test-only SUBHOST_TEST_KILL_AT hook). Each time the subhost must read as failed, refuse to
 * boot, and one `subhost stop` must leave nothing behind, with clean filesystems.
 */
describe('crash recovery', () => {
  const root = makeTestRoot();
  const bridge = `${PREFIX}cbr${process.pid % 10000}`;
  const paths = new Paths(root, RUN);
  let sub: DiskSubhost;
  let stepIds: string[] = [];
  let undoIds: string[] = [];
  const leftovers = () => leftoversOf(sub.name);
  const status = () => statusOf(root, sub.name);
  const bootAndSettle = () => bootAndSettleIn(root, sub.name);
  const killedAt = (args: string[], point: string) => cli(args, { root, env: { SUBHOST_TEST_KILL_AT: point } });

  async function expectFailedThenCleanedByStop(cmd: string): Promise<void> {
    const s = status();
    expect(s.state).toBe('failed');
    expect(s.reason).toMatch(new RegExp(`\`subhost ${cmd}\` \\(pid \\d+\\) was interrupted; \`subhost stop ${sub.name}\` cleans up`));
    const again = cli(['boot', sub.name], { root });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(new RegExp(`^subhost: subhost ${sub.name} is failed: `));
    // poweroff refuses it too, in one line, and leaves it failed for stop.
    const off = cli(['poweroff', sub.name], { root });
    expect(off).toMatchObject({ code: 1, stdout: '' });
    expect(off.stderr).toMatch(new RegExp(`^subhost: subhost ${sub.name} is failed: [^\\n]*\\n$`));
    expect(status().state).toBe('failed');
    expect(ok(['stop', sub.name], { root }).stdout).toBe(`${sub.name}: stopped\n`);
    expect(leftovers()).toEqual([]);
    expect(existsSync(paths.runDir(sub.name))).toBe(false);
    expect(status().state).toBe('stopped');
    for (const disk of [sub.disk1, sub.disk2!]) {
      const fsck = await run(['e2fsck', '-fn', `${disk}?offset=1048576`], { allowFailure: true });
      expect(fsck.code, fsck.stdout + fsck.stderr).toBe(0);
    }
  }

  beforeAll(async () => {
    await createBridge(bridge);
    sub = await createDiskSubhost(root, testName('k'), { bridges: [bridge] });
    const rt = new Runtime(paths, { PATH: process.env.PATH });
    stepIds = (await bootPlan(rt, sub.name, {}, 'plan')).plan.steps.map((s) => s.id);
    await bootAndSettle();
    // Only steps with an undo have a point before their undo (devices has none;
    // the links and the netns are released by what stop finds, at stop:network).
    undoIds = readState(paths, sub.name)!.applied.filter((a) => SUBHOST_HANDLERS[a.kind as keyof typeof SUBHOST_HANDLERS].undo && a.kind !== 'veths' && a.kind !== 'netns').map((a) => a.id).reverse();
    ok(['stop', sub.name], { root });
  });
  afterEach(() => {
    cli(['stop', sub.name], { root });
  });
  afterAll(async () => {
    await deleteBridge(bridge);
    removeTestRoot(root);
  });

  it('plans every kind of step (so that every kind is interrupted below)', () => {
    expect(stepIds).toEqual([`loop:${sub.disk1}`, `loop:${sub.disk2}`, 'disk:vda1', 'disk:vdb1', 'root', 'cgroup', 'io', 'devices', 'netns', 'veths', 'start-init']);
    expect(undoIds).toEqual(expect.arrayContaining(['start-init', 'cgroup', 'root', 'disk:vdb1', 'disk:vda1', `loop:${sub.disk2}`, `loop:${sub.disk1}`]));
    expect(undoIds).toHaveLength(7);
  });

  describe.each(['before', 'after'])('boot killed %s a step (after: done, not yet recorded)', (when) => {
    it.each(Array.from({ length: 11 }, (_, i) => i))('step %i', async (i) => {
      const r = killedAt(['boot', sub.name], `boot:${when}:${stepIds[i]}`);
      expect(r.code, r.stderr).toBeNull();
      await expectFailedThenCleanedByStop('boot');
    });
  });

  it('also honours SUBHOST_TEST_KILL_AT_STEP (boot killed before step N)', async () => {
    const r = cli(['boot', sub.name], { root, env: { SUBHOST_TEST_KILL_AT_STEP: '5' } });
    expect(r.code).toBeNull();
    // Step 5 mounts vda1, so vda1's chain is done; the data disk's, the network's, the cgroup and its devices run beside it.
    const applied = readState(paths, sub.name)!.applied.map((a) => a.id);
    expect(applied).toEqual(expect.arrayContaining([`loop:${sub.disk1}`, 'disk:vda1']));
    const beside = [`loop:${sub.disk2}`, 'disk:vdb1', 'netns', 'veths', 'cgroup', 'devices'];
    expect(applied.filter((id) => id !== `loop:${sub.disk1}` && id !== 'disk:vda1').every((id) => beside.includes(id))).toBe(true);
    await expectFailedThenCleanedByStop('boot');
  });

  // The pair goes with the namespace stop drops; one that something outside still holds keeps the
  // pair, and only stop's deletion removes the host end: it must count the unmarked end as NAME's.
  it.each([false, true])('boot killed between a veth pair and its mark (two requests): stop releases the unmarked host end (namespace held outside: %s)', async (held) => {
    const host = `${sub.name}0`;
    const r = killedAt(['boot', sub.name], 'boot:veths:added');
    expect(r.code, r.stderr).toBeNull();
    expect(readIfalias(host)).toBe('');
    const holder = held ? spawn('nsenter', [`--net=/run/netns/${sub.name}`, '--', 'sleep', '60'], { stdio: 'ignore' }) : undefined;
    try {
      if (holder) await waitFor('the holder to run in the namespace', () => readFileOr(`/proc/${holder.pid}/comm`)?.trim() === 'sleep', 5000);
      await expectFailedThenCleanedByStop('boot');
      expect(linkExists(host)).toBe(false);
    } finally {
      holder?.kill('SIGKILL');
    }
    expect(ok(['boot', sub.name], { root }).code).toBe(0);
    expect(readIfalias(host)).toBe(`subhost:${sub.name}`);
  });

  it.each(['stop:marked', 'stop:killed', 'stop:network', 'stop:undone', 'stop:swept'])('stop killed at %s', async (point) => {
    await bootAndSettle();
    expect(killedAt(['stop', sub.name], point).code).toBeNull();
    await expectFailedThenCleanedByStop('stop');
  });

  it('stop killed right after killing the guest: PID 1 ends, its supervisor leaves the release to a stop (no _reap), and stop finishes', async () => {
    await bootAndSettle();
    const rec = readState(paths, sub.name)!;
    expect(killedAt(['stop', sub.name], 'stop:guest-killed').code).toBeNull();
    await waitFor('PID 1 to end', () => !isAlive(rec.pid1!));
    await waitFor('the supervisor to end', () => !isAlive(rec.supervisor!));
    // A `_reap` would have released NAME: the record would be gone, not marked as a failed stop.
    await expectFailedThenCleanedByStop('stop');
  });

  it.each(Array.from({ length: 7 }, (_, i) => i))('stop killed before undoing step %i (in undo order)', async (i) => {
    await bootAndSettle();
    expect(killedAt(['stop', sub.name], `stop:undo:${undoIds[i]}`).code).toBeNull();
    await expectFailedThenCleanedByStop('stop');
  });

  it.each(['poweroff:signalled', 'poweroff:waited'])('poweroff killed at %s', async (point) => {
    await bootAndSettle();
    const pid1 = readState(paths, sub.name)!.pid1!;
    expect(killedAt(['poweroff', sub.name], point).code).toBeNull();
    // The guest goes on powering off; its supervisor sees the interrupted command and leaves the rest to stop.
    await waitFor('PID 1 to end', () => !isAlive(pid1));
    await expectFailedThenCleanedByStop('poweroff');
  });

  it('poweroff killed while releasing', async () => {
    await bootAndSettle();
    expect(killedAt(['poweroff', sub.name], 'stop:undo:root').code).toBeNull();
    // The record keeps poweroff's mark through the release (it is written once): poweroff is what was interrupted.
    await expectFailedThenCleanedByStop('poweroff');
  });
});
