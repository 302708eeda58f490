import { describe, expect, it } from 'vitest';
import { spawnPath } from '../../src/host/exec';
import { execContract } from '../helpers/exec-contract';

// The fallback (no addon, a kernel before pidfds) keeps the same contract; read at the first run().
process.env.SUBHOST_SPAWN = 'node';

describe('run through child_process', () => {
  it('is the path taken when SUBHOST_SPAWN=node', () => {
    expect(spawnPath()).toBe('node');
  });
});

execContract();
