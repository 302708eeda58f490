import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { hostsDirFile, hostsDirOwner } from './formats';
import type { Reservation } from './reservations';

/**
 * Temp file + fsync + rename, so a DHCP server never reads half a file. The temp name starts with
 * a dot: dnsmasq's --dhcp-hostsdir ignores such files, where it would read any other at once.
 */
export function replaceFile(path: string, data: string): void {
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}`);
  const fd = openSync(tmp, 'w', 0o644);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** One file per subhost (written only when it changed); files of ours for subhosts that are gone are removed. */
export function writeHostsDir(dir: string, rs: Reservation[], subhosts: string[], existing: string[]): { written: string[]; removed: string[] } {
  mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  for (const s of subhosts) {
    const path = join(dir, s);
    const text = hostsDirFile(s, rs.filter((r) => r.subhost === s));
    let old: string | undefined;
    try {
      old = readFileSync(path, 'utf8');
    } catch {
      /* new */
    }
    if (old === text) continue;
    replaceFile(path, text);
    written.push(path);
  }
  const removed: string[] = [];
  for (const f of readdirSync(dir)) {
    if (existing.includes(f)) continue;
    let owner: string | undefined;
    try {
      owner = hostsDirOwner(readFileSync(join(dir, f), 'utf8'));
    } catch {
      continue;
    }
    if (owner !== f) continue;
    rmSync(join(dir, f), { force: true });
    removed.push(join(dir, f));
  }
  return { written, removed };
}
