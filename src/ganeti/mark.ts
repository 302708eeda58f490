import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../host/atomic-file';
import type { Paths } from '../core/state/paths';
import type { GntMapping } from './mapping';

/** Beside the config gnt-start wrote: which Ganeti instance this subhost is (list and status show it). */
export function markFile(paths: Paths, name: string): string {
  return join(paths.subhostDir(name), 'ganeti.json');
}

export function writeMark(paths: Paths, m: GntMapping): void {
  writeFileAtomic(markFile(paths, m.subhost), `${JSON.stringify(m, null, 2)}\n`);
}

export function readMark(paths: Paths, name: string): GntMapping | undefined {
  try {
    return JSON.parse(readFileSync(markFile(paths, name), 'utf8')) as GntMapping;
  } catch {
    return undefined;
  }
}
