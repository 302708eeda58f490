import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BIN } from './run';

/** A build the bench runs: this checkout's bin/subhost, and with `--compare DIR` that checkout's. */
export interface Build {
  bin: string;
  /** Appended to a figure's id: '' for this build, '-before' for the other. */
  suffix: string;
  /** Appended to a figure's label. */
  note: string;
}

/**
 * The builds to measure. The other one is measured in the same rounds as this one, taking turns:
 * this VM's speed drifts within minutes (page cache reclaim, the kernel's deferred netns cleanup),
 * so only figures measured side by side tell two builds apart.
 */
export function benchBuilds(compare?: string): Build[] {
  const builds: Build[] = [{ bin: BIN, suffix: '', note: '' }];
  if (compare === undefined) return builds;
  const dir = resolve(compare);
  const bin = join(dir, 'bin/subhost');
  if (!existsSync(bin) || !existsSync(join(dir, 'dist/subhost.cjs'))) throw new Error(`--compare ${compare}: no built subhost there (bin/subhost and dist/subhost.cjs; run \`npm run build\` in it)`);
  if (bin === BIN) throw new Error(`--compare ${compare}: that is this checkout`);
  builds.push({ bin, suffix: '-before', note: ` [before: ${dir}]` });
  return builds;
}

/** The builds in round r's order: each goes first every other round, so neither always runs in the other's wake. */
export function inTurn(builds: Build[], round: number): Build[] {
  return round % 2 ? [...builds].reverse() : builds;
}

/** Per build, the values of each figure. */
export function perBuild<K extends string>(builds: Build[], keys: readonly K[]): Map<Build, Record<K, number[]>> {
  return new Map(builds.map((b) => [b, Object.fromEntries(keys.map((k) => [k, [] as number[]])) as Record<K, number[]>]));
}
