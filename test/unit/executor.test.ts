import { describe, expect, it } from 'vitest';
import { executePlan, undoApplied, type StepContext, type StepHandler } from '../../src/core/plan/executor';
import type { Plan } from '../../src/core/plan/types';
import { SubhostError } from '../../src/errors';

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

const plan = (...ns: string[]): Plan => ({ name: 'x', command: 'test', steps: ns.map((n) => ({ kind: 'k', id: n, describe: `step ${n}`, params: { n } })) });

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
