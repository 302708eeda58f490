import { lstatSync, readlinkSync } from 'node:fs';
import { posix } from 'node:path';
import { SubhostError } from '../../errors';

/**
 * Resolve a path inside a guest root the way the guest's kernel view would, never leaving
 * the root: an absolute symlink in the guest (/sbin -> /usr/sbin) must not lead the host
 * into its own /usr/sbin. Missing components are fine (they will be created).
 */
export function resolveInRoot(root: string, guestPath: string, maxLinks = 40): string {
  const pending = guestPath.split('/').filter(Boolean);
  const done: string[] = [];
  let links = 0;
  while (pending.length) {
    const part = pending.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      done.pop();
      continue;
    }
    const host = posix.join(root, ...done, part);
    let isLink = false;
    try {
      isLink = lstatSync(host).isSymbolicLink();
    } catch {
      /* does not exist yet */
    }
    if (!isLink) {
      done.push(part);
      continue;
    }
    if (++links > maxLinks) throw new SubhostError(`too many symbolic links resolving ${guestPath} in ${root}`);
    const target = readlinkSync(host);
    if (target.startsWith('/')) done.length = 0;
    pending.unshift(...target.split('/').filter(Boolean));
  }
  return posix.join(root, ...done);
}
