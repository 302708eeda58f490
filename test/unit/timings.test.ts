import { describe, expect, it } from 'vitest';
import { executePlan, stepLabel, undoApplied, type StepHandler, type StepContext } from '../../src/core/plan/executor';
import { enableTimings, formatTimings, takeTimings, timed, timingsEnabled } from '../../src/core/plan/timings';
import type { Plan, Step } from '../../src/core/plan/types';
import { run } from '../../src/host/exec';

describe('formatTimings', () => {
  const t = {
    rows: [
      { label: 'netns', start: 120.25, ms: 8.04, spawns: [{ argv: ['ip', '-batch', '-'], ms: 7.5 }] },
      { label: 'lock subhost', start: 60, ms: 2.5, spawns: [] },
      { label: 'loop-attach loop:disk.raw', start: 100, ms: 1234.56, spawns: [{ argv: ['losetup', '--find', '--show', 'x'.repeat(100)], ms: 3 }, { argv: ['true'], ms: 1 }] },
    ],
    loose: [{ argv: ['flock', '3'], ms: 2 }],
    now: 250,
  };

  it('prints one row per step in start order: start, ms, spawns, label; then the spawns outside any step and the total', () => {
    expect(formatTimings(t)).toEqual([
      'timings:   start      ms  spawns  step',
      'timings:    60.0     2.5       0  lock subhost',
      'timings:   100.0  1234.6       2  loop-attach loop:disk.raw',
      'timings:   120.3     8.0       1  netns',
      'timings:             2.0       1  (outside the steps)',
      'timings:     0.0   250.0       4  total (since the process started)',
    ]);
  });

  it('with verbose lists each spawn under its row, a long argv cut to 90 characters', () => {
    const lines = formatTimings(t, true);
    expect(lines[2]).toBe('timings:   100.0  1234.6       2  loop-attach loop:disk.raw');
    expect(lines[3]).toBe(`timings:             3.0          - losetup --find --show ${'x'.repeat(87 - 'losetup --find --show '.length)}...`);
    expect(lines[4]).toBe('timings:             1.0          - true');
    expect(lines[6]).toBe('timings:             7.5          - ip -batch -');
    expect(lines[8]).toBe('timings:             2.0          - flock 3');
    expect(lines).toHaveLength(10);
  });

  it('lists a system call made in place of a tool (with verbose) without counting it as a spawn', () => {
    const withCall = { rows: [{ label: 'detach loops', start: 10, ms: 0.5, spawns: [{ argv: ['losetup', '--detach', '/dev/loop0'], ms: 0.1, call: true }] }], loose: [], now: 20 };
    expect(formatTimings(withCall, true)).toEqual([
      'timings:   start      ms  spawns  step',
      'timings:    10.0     0.5       0  detach loops',
      'timings:             0.1          - (system call) losetup --detach /dev/loop0',
      'timings:     0.0    20.0       0  total (since the process started)',
    ]);
  });
});

describe('timed', () => {
  it("labels a step by kind, and by its id without the path when the id says more", () => {
    expect(stepLabel({ kind: 'netns', id: 'netns' })).toBe('netns');
    expect(stepLabel({ kind: 'loop-attach', id: 'loop:/var/tmp/x/disk.raw' })).toBe('loop-attach loop:disk.raw');
    expect(stepLabel({ kind: 'mount-root', id: 'root' })).toBe('mount-root root');
  });

  it('counts each spawn in the row it was made in, also when rows overlap, and each plan step and undo is a row', async () => {
    enableTimings();
    expect(timingsEnabled()).toBe(true);
    takeTimings();
    const handler: StepHandler<{ argv: string[] }, null, StepContext> = {
      async apply(p) {
        await run(p.argv);
        return null;
      },
      async undo(p) {
        await run(p.argv);
      },
    };
    const plan: Plan<Step<'k', { argv: string[] }>> = {
      name: 'x',
      command: 'test',
      steps: [
        { kind: 'k', id: 'a', describe: 'a', params: { argv: ['true'] }, after: [] },
        { kind: 'k', id: 'b', describe: 'b', params: { argv: ['sleep', '0.05'] }, after: [] },
      ],
    };
    const applied = await executePlan(plan, { k: handler }, { results: new Map() });
    await timed('outer', () => run(['true']));
    await run(['true']);
    await undoApplied(applied, { k: handler }, { results: new Map() });
    const t = takeTimings();
    expect(t.rows.map((r) => [r.label, r.spawns.map((s) => s.argv[0])])).toEqual([
      ['k a', ['true']],
      ['k b', ['sleep']],
      ['outer', ['true']],
      // Independent undos start together, in plan order.
      ['undo k a', ['true']],
      ['undo k b', ['sleep']],
    ]);
    expect(t.rows[1].ms).toBeGreaterThanOrEqual(40);
    expect(t.loose.map((s) => s.argv[0])).toEqual(['true']);
    expect(formatTimings(t).at(-1)).toMatch(/^timings: +0\.0 +\d+\.\d +6  total/);
  });
});
