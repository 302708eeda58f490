import { mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive, procRef, type ProcRef } from '../host/proc';

/**
 * A bootstrap works in SUBHOST_ROOT/.bootstrap-NAME-PID-START and renames it into place at the
 * end. The name says whose it is, so a folder whose bootstrap was killed is recognised (its
 * process is gone) and removed by the next bootstrap or by `check-mounts --fix`.
 */
const STAGING_RE = /^\.bootstrap-([a-z0-9-]{1,13})-(\d+)-(\d+)(\.removing|\.replaced)?$/;

export interface StagingDir {
  path: string;
  name: string;
  owner: ProcRef;
}

export function stagingName(name: string, owner: ProcRef): string {
  return `.bootstrap-${name}-${owner.pid}-${owner.start}`;
}

export function parseStagingName(dir: string): { name: string; owner: ProcRef } | undefined {
  const m = STAGING_RE.exec(dir);
  return m ? { name: m[1], owner: { pid: Number(m[2]), start: Number(m[3]) } } : undefined;
}

export function makeStaging(root: string, name: string): StagingDir {
  const owner = procRef(process.pid)!;
  mkdirSync(root, { recursive: true });
  const path = join(root, stagingName(name, owner));
  // 0700: boot refuses a subhost folder that other users can traverse (core/storage/folder-mode.ts).
  mkdirSync(path, { mode: 0o700 });
  return { path, name, owner };
}

/** Staging folders under root whose bootstrap is gone (killed, or the host crashed). */
export function staleStaging(root: string): StagingDir[] {
  let dirs: string[] = [];
  try {
    dirs = readdirSync(root);
  } catch {
    return [];
  }
  return dirs.flatMap((d) => {
    const p = parseStagingName(d);
    return p && !isAlive(p.owner) ? [{ path: join(root, d), ...p }] : [];
  });
}

/** Rename first (one atomic step), then delete: a kill half-way leaves a stale name, never a half folder under NAME. */
export function removeStaging(dir: string): void {
  const doomed = `${dir}.removing`;
  try {
    renameSync(dir, doomed);
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return;
  }
  rmSync(doomed, { recursive: true, force: true });
}

export function removeStaleStaging(root: string): StagingDir[] {
  const stale = staleStaging(root);
  for (const s of stale) rmSync(s.path, { recursive: true, force: true });
  return stale;
}
