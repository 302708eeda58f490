import { existsSync } from 'node:fs';
import { join } from 'node:path';

let cached: string | undefined;

/** The share/ folder with subhost-init (beside dist/ or src/). */
export function shareDir(): string {
  if (cached) return cached;
  for (const up of ['..', '../..', '../../..']) {
    const dir = join(__dirname, up, 'share');
    if (existsSync(join(dir, 'subhost-init'))) return (cached = dir);
  }
  throw new Error(`internal: share/ not found near ${__dirname}`);
}
