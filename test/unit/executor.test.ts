import { describe, expect, it } from 'vitest';
import { executePlan, undoApplied, type StepContext, type StepHandler } from '../../src/core/plan/executor';
import type { Plan, Step } from '../../src/core/plan/types';
import { SubhostError } from '../../src/errors';
import { SUBHOST_HANDLERS } from '../../src/core/steps/handlers';

function recorder() {
  const log: string[] = [];
  const handler = (fail?: string): StepHandler<{ n: string }, string, StepContext> => ({
    async apply(p) {
      log.push(`apply ${p.n}`);
      if (p.n === fail) throw new SubhostError('boom');
      return `r${p.n}`;
    },
    async undo(p, r) {
      log.push(`undo ${p.n} ${r ?? '-'}`);
      if (p.n === 'b' && fail === 'c-and-undo') throw new SubhostError('undo failed');
    },
  });
  return { log, handler };
}

const plan = (...ns: string[]): Plan<Step<'k', { n: string }>> => ({ name: 'x', command: 'test', steps: ns.map((n) => ({ kind: 'k', id: n, describe: `step ${n}`, params: { n } })) });

describe('executePlan', () => {
  it('applies in order and records each step', async () => {
    const { log, handler } = recorder();
    const seen: number[] = [];
    const applied = await executePlan(plan('a', 'b'), { k: handler() }, { results: new Map() }, { record: (a) => seen.push(a.length) });
    expect(log).toEqual(['apply a', 'apply b']);
    expect(seen).toEqual([1, 2]);
    expect(applied.map((a) => a.result)).toEqual(['ra', 'rb']);
  });

  it('undoes everything, last first, and reports the first error with its step', async () => {
    const { log, handler } = recorder();
    await expect(executePlan(plan('a', 'b', 'c'), { k: handler('c') }, { results: new Map() })).rejects.toThrow('step c: boom');
    expect(log).toEqual(['apply a', 'apply b', 'apply c', 'undo c -', 'undo b rb', 'undo a ra']);
  });

  it('keeps undoing past a failing undo and lists teardown errors in the details', async () => {
    const { log, handler } = recorder();
    const h = handler('c-and-undo');
    const err = await executePlan(plan('a', 'b', 'c-and-undo'), { k: h }, { results: new Map() }).catch((e) => e);
    expect(err.message).toBe('step c-and-undo: boom');
    expect(err.details).toEqual(['while reverting: undoing step b: undo failed']);
    expect(log.slice(-3)).toEqual(['undo c-and-undo -', 'undo b rb', 'undo a ra']);
  });

  it('undoApplied replays the undo of a recorded run', async () => {
    const { log, handler } = recorder();
    const errors = await undoApplied([{ kind: 'k', id: 'a', params: { n: 'a' }, result: 'ra' }, { kind: 'k', id: 'b', params: { n: 'b' }, result: 'rb' }], { k: handler() }, { results: new Map() });
    expect(errors).toEqual([]);
    expect(log).toEqual(['undo b rb', 'undo a ra']);
  });

  it('undoApplied passes over a recorded step of a kind it has no handler for (install-init in records of older versions)', async () => {
    const { log, handler } = recorder();
    const applied = [
      { kind: 'k', id: 'a', params: { n: 'a' }, result: 'ra' },
      { kind: 'install-init', id: 'install-init', params: {}, result: {} },
      { kind: 'k', id: 'b', params: { n: 'b' }, result: 'rb' },
    ];
    expect(await undoApplied(applied, { k: handler() }, { results: new Map() })).toEqual([]);
    expect(log).toEqual(['undo b rb', 'undo a ra']);
    expect(Object.keys(SUBHOST_HANDLERS)).not.toContain('install-init');
    expect(await undoApplied([applied[1]], SUBHOST_HANDLERS, { results: new Map(), paths: undefined as never, name: 'x', cgroupMount: '/nonexistent', warnings: [] })).toEqual([]);
  });

  it('calls the fault-injection hooks around each step and before each undo', async () => {
    const { log, handler } = recorder();
    const seen: number[] = [];
    await executePlan(plan('a', 'b'), { k: handler() }, { results: new Map() }, {
      beforeStep: (s) => log.push(`before ${s.id}`),
      afterStep: (s) => log.push(`after ${s.id}`),
      record: (a) => seen.push(a.length),
    });
    expect(log).toEqual(['before a', 'apply a', 'after a', 'before b', 'apply b', 'after b']);
    expect(seen).toEqual([1, 2]);
    log.length = 0;
    await undoApplied([{ kind: 'k', id: 'a', params: { n: 'a' }, result: 'ra' }], { k: handler() }, { results: new Map() }, (a) => log.push(`before undo ${a.id}`));
    expect(log).toEqual(['before undo a', 'undo a ra']);
  });
});

describe('executePlan with steps that may run at the same time', () => {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  function timed(log: string[], fail?: string): StepHandler<{ n: string; ms: number }, string, StepContext> {
    return {
      async apply(p) {
        log.push(`start ${p.n}`);
        await sleep(p.ms);
        if (p.n === fail) throw new SubhostError('boom');
        log.push(`end ${p.n}`);
        return p.n;
      },
      async undo(p, r) {
        log.push(`undo ${p.n} ${r ?? '-'}`);
      },
    };
  }
  const step = (n: string, ms: number, after?: string[]): Step<'k', { n: string; ms: number }> => ({ kind: 'k', id: n, describe: `step ${n}`, params: { n, ms }, ...(after ? { after } : {}) });

  it('starts a step once what it waits for is done, and others at once', async () => {
    const log: string[] = [];
    const plan: Plan<Step<'k', { n: string; ms: number }>> = { name: 'x', command: 't', steps: [step('a', 30, []), step('b', 5, ['a']), step('n', 5, []), step('z', 1, ['b', 'n'])] };
    const applied = await executePlan(plan, { k: timed(log) }, { results: new Map() });
    expect(log.slice(0, 2)).toEqual(['start a', 'start n']);
    expect(log.indexOf('start b')).toBeGreaterThan(log.indexOf('end a'));
    expect(log.at(-1)).toBe('end z');
    expect(applied.map((a) => a.id)).toEqual(['n', 'a', 'b', 'z']);
  });

  it('on a failure starts nothing new, lets the running steps finish, and undoes all, last done first', async () => {
    const log: string[] = [];
    const plan: Plan<Step<'k', { n: string; ms: number }>> = { name: 'x', command: 't', steps: [step('slow', 30, []), step('bad', 5, []), step('later', 1, ['bad'])] };
    await expect(executePlan(plan, { k: timed(log, 'bad') }, { results: new Map() })).rejects.toThrow('step bad: boom');
    expect(log).not.toContain('start later');
    expect(log.slice(-3)).toEqual(['end slow', 'undo slow slow', 'undo bad -']);
  });

  it('refuses a plan whose steps wait for a step it does not have', async () => {
    const plan: Plan<Step<'k', { n: string; ms: number }>> = { name: 'x', command: 't', steps: [step('a', 1, ['ghost'])] };
    await expect(executePlan(plan, { k: timed([]) }, { results: new Map() })).rejects.toThrow(/wait for steps it does not have/);
  });
});

describe('undoApplied in the reverse of the order applied', () => {
  it('undoes a step after the steps that waited for it, and independent chains side by side', async () => {
    const log: string[] = [];
    const slow: StepHandler<{ n: string }, string, StepContext> = {
      async apply() {
        return '';
      },
      async undo(p) {
        log.push(`start ${p.n}`);
        await new Promise((r) => setTimeout(r, p.n === 'veths' ? 30 : 5));
        log.push(`end ${p.n}`);
      },
    };
    const a = (id: string, after: string[]) => ({ kind: 'k', id, params: { n: id }, result: null, after });
    const applied = [a('loop', []), a('netns', []), a('mount', ['loop']), a('veths', ['netns']), a('pid1', ['mount', 'veths'])];
    expect(await undoApplied(applied, { k: slow }, { results: new Map() })).toEqual([]);
    expect(log.slice(0, 2)).toEqual(['start pid1', 'end pid1']);
    // The network chain and the disk chain at the same time: mount and loop finish while veths is still going.
    expect(log.indexOf('end loop')).toBeLessThan(log.indexOf('end veths'));
    expect(log.indexOf('start netns')).toBeGreaterThan(log.indexOf('end veths'));
    expect(log.indexOf('start loop')).toBeGreaterThan(log.indexOf('end mount'));
  });
});
