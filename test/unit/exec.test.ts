import { openSync, closeSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { run, spawnPath } from '../../src/host/exec';
import { execContract } from '../helpers/exec-contract';

execContract();

// Where the addon is built and the kernel has pidfds (here), run() spawns with posix_spawn.
describe('run through the addon', () => {
  it('is the path taken here', () => {
    expect(spawnPath()).toBe('native');
  });

  it('gives the child no descriptor but 0-2 and the extra ones, even one inherited without O_CLOEXEC', async () => {
    const fd = openSync('/dev/null', 'r');
    try {
      expect((await run(['sh', '-c', 'ls /proc/$$/fd'])).stdout.split('\n').filter(Boolean)).toEqual(['0', '1', '2']);
      expect((await run(['sh', '-c', 'ls /proc/$$/fd'], { extraFds: [fd, fd] })).stdout.split('\n').filter(Boolean)).toEqual(['0', '1', '2', '3', '4']);
    } finally {
      closeSync(fd);
    }
  });
});
