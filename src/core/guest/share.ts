import { existsSync } from 'node:fs';
import { join } from 'node:path';

let cached: string | undefined;

/** The share/ folder with subhost-init and the supervisor script (beside dist/ or src/). */
export function shareDir(): string {
  if (cached) return cached;
  for (const up of ['..', '../..', '../../..']) {
    const dir = join(__dirname, up, 'share');
    if (existsSync(join(dir, 'subhost-init'))) return (cached = dir);
  }
  throw new Error(`internal: share/ not found near ${__dirname}`);
}

/** The shell for the supervisor: dash where there is one, for its small footprint. */
export function supervisorShell(): string {
  for (const sh of ['/usr/bin/dash', '/bin/dash']) if (existsSync(sh)) return sh;
  return '/bin/sh';
}
