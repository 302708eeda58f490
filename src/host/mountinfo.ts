import { readFileSync } from 'node:fs';

export interface MountEntry {
  id: number;
  parent: number;
  majorMinor: string;
  /** Path inside the filesystem that is mounted (bind mounts of subdirectories). */
  root: string;
  mountPoint: string;
  options: string[];
  fsType: string;
  source: string;
  superOptions: string[];
}

/** mountinfo escapes space, tab, newline and backslash as octal. */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

export function parseMountinfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const f = line.split(' ');
    const sep = f.indexOf('-', 6);
    if (sep < 0) continue;
    entries.push({
      id: Number(f[0]),
      parent: Number(f[1]),
      majorMinor: f[2],
      root: unescape(f[3]),
      mountPoint: unescape(f[4]),
      options: f[5].split(','),
      fsType: f[sep + 1],
      source: unescape(f[sep + 2] ?? ''),
      superOptions: (f[sep + 3] ?? '').split(','),
    });
  }
  return entries;
}

export function readMountinfo(pid: number | 'self' = 'self'): MountEntry[] {
  return parseMountinfo(readFileSync(`/proc/${pid}/mountinfo`, 'utf8'));
}

/** Mounts at or below dir, deepest first (the order to unmount them in). */
export function mountsUnder(entries: MountEntry[], dir: string): MountEntry[] {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  return entries
    .filter((m) => m.mountPoint === dir || m.mountPoint.startsWith(prefix))
    .sort((a, b) => b.mountPoint.length - a.mountPoint.length || b.id - a.id);
}

export function isMountPoint(entries: MountEntry[], dir: string): boolean {
  return entries.some((m) => m.mountPoint === dir);
}
