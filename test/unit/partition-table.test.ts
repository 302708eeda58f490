import { describe, expect, it } from 'vitest';
import { parsePartx, partitionProblem } from '../../src/core/storage/partition-table';

describe('partition tables as util-linux reads them', () => {
  it('reads partx --raw output in 512-byte sectors, with the scheme', () => {
    expect(parsePartx('1 2048 8192 dos\n5 12288 2048 dos\n')).toEqual({
      scheme: 'dos',
      partitions: [
        { index: 1, offset: 2048 * 512, size: 8192 * 512 },
        { index: 5, offset: 12288 * 512, size: 2048 * 512 },
      ],
    });
    expect(parsePartx('')).toEqual({ scheme: 'none', partitions: [] });
  });

  it('refuses output it does not understand instead of guessing', () => {
    expect(() => parsePartx('1 2048 x dos\n')).toThrow(/unexpected partx output/);
  });

  it('bounds-checks a partition against the image (issue 12, class 6)', () => {
    const size = 16 << 20;
    expect(partitionProblem({ index: 1, offset: 1 << 20, size: 8 << 20 }, size)).toBeUndefined();
    expect(partitionProblem({ index: 1, offset: 1 << 20, size: 16 << 20 }, size)).toMatch(/lies outside the image/);
    expect(partitionProblem({ index: 1, offset: 0, size: 1 << 20 }, size)).toMatch(/lies outside the image/);
    expect(partitionProblem({ index: 1, offset: 1 << 20, size: 0 }, size)).toBe('is empty');
  });
});
