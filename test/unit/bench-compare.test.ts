import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { benchBuilds, inTurn, perBuild } from '../../bench/compare';
import { BIN } from '../../bench/run';

describe('bench --compare', () => {
  const dir = mkdtempSync(join(tmpdir(), 'subhost-bench-compare-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('measures only this build without it', () => {
    expect(benchBuilds()).toEqual([{ bin: BIN, suffix: '', note: '' }]);
  });

  it('refuses a folder with no built subhost, and this checkout itself', () => {
    expect(() => benchBuilds(dir)).toThrow(`--compare ${dir}: no built subhost there`);
    mkdirSync(join(dir, 'bin'));
    writeFileSync(join(dir, 'bin/subhost'), '');
    expect(() => benchBuilds(dir)).toThrow('no built subhost there');
    expect(() => benchBuilds(resolve(BIN, '../..'))).toThrow('that is this checkout');
  });

  it('adds the other build, its figures marked "-before"', () => {
    mkdirSync(join(dir, 'dist'), { recursive: true });
    writeFileSync(join(dir, 'dist/subhost.cjs'), '');
    const [ours, other] = benchBuilds(dir);
    expect(ours.bin).toBe(BIN);
    expect(other).toEqual({ bin: join(dir, 'bin/subhost'), suffix: '-before', note: ` [before: ${dir}]` });
  });

  it('lets each build go first every other round, and keeps their figures apart', () => {
    const builds = [{ bin: 'a', suffix: '', note: '' }, { bin: 'b', suffix: '-before', note: '' }];
    expect([0, 1, 2, 3].map((r) => inTurn(builds, r).map((b) => b.bin).join(''))).toEqual(['ab', 'ba', 'ab', 'ba']);
    expect(builds.map((b) => b.bin)).toEqual(['a', 'b']);
    const m = perBuild(builds, ['boot', 'stop'] as const);
    m.get(builds[0])!.boot.push(1);
    expect(m.get(builds[1])!.boot).toEqual([]);
    expect(m.get(builds[0])).toEqual({ boot: [1], stop: [] });
  });
});
