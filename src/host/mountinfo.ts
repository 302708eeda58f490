import { readFileSync } from 'node:fs';

export interface MountEntry {
  id: number;
  parent: number;
  majorMinor: string;
  /** Path inside the filesystem that is mounted (bind mounts of subdirectories). */
  root: string;
  mountPoint: string;
  readonly options: string[];
  fsType: string;
  source: string;
  readonly superOptions: string[];
}

/** mountinfo escapes space, tab, newline and backslash as octal (a field without a backslash has none: most, and a regex for each was 1-3 ms of a scan of 400 mounts). */
function unescape(field: string): string {
  if (!field.includes('\\')) return field;
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** A line of mountinfo; its option lists are split when asked for (splitting them for every mount was half of a scan's time). */
class ParsedMount implements MountEntry {
  constructor(
    readonly id: number,
    readonly parent: number,
    readonly majorMinor: string,
    readonly root: string,
    readonly mountPoint: string,
    readonly fsType: string,
    readonly source: string,
    private readonly optionsText: string,
    private readonly superOptionsText: string,
  ) {}

  get options(): string[] {
    return this.optionsText.split(',');
  }

  get superOptions(): string[] {
    return this.superOptionsText.split(',');
  }
}

export function parseMountinfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const f = line.split(' ');
    const sep = f.indexOf('-', 6);
    if (sep < 0) continue;
    entries.push(new ParsedMount(Number(f[0]), Number(f[1]), f[2], unescape(f[3]), unescape(f[4]), f[sep + 1], unescape(f[sep + 2] ?? ''), f[5], f[sep + 3] ?? ''));
  }
  return entries;
}

export function readMountinfo(pid: number | 'self' = 'self'): MountEntry[] {
  return parseMountinfo(readFileSync(`/proc/${pid}/mountinfo`, 'utf8'));
}

/** A path as mountinfo prints it: space, tab, newline and backslash in octal (the kernel's seq_escape). */
function escapePath(path: string): string {
  return path.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
}

/** The mounts of the lines of a mountinfo text that hold one of needles: only those are parsed. */
function parseLinesWith(text: string, needles: string[]): MountEntry[] {
  return parseMountinfo(
    text
      .split('\n')
      .filter((line) => needles.some((n) => line.includes(n)))
      .join('\n'),
  );
}

/**
 * The mounts of a mountinfo text whose line holds one of these paths: every mount at or below each
 * of them is among them (mountsUnder and isMountPoint then answer as on the whole text). A query
 * about one subhost's folders costs the kernel's text, not a parse of every mount of a host with hundreds.
 */
export function parseMountsAt(text: string, paths: string[]): MountEntry[] {
  return parseLinesWith(text, paths.map(escapePath));
}

export function readMountsAt(paths: string[], pid: number | 'self' = 'self'): MountEntry[] {
  return parseMountsAt(readFileSync(`/proc/${pid}/mountinfo`, 'utf8'), paths);
}

/**
 * The mounts of these filesystem types (cgroup2, cgroup): only their lines are parsed. The type
 * follows the " - " separator, and a space in a path is printed as \040, so the match is exact.
 */
export function parseMountsOfTypes(text: string, types: string[]): MountEntry[] {
  return parseLinesWith(text, types.map((t) => ` - ${t} `)).filter((m) => types.includes(m.fsType));
}

export function readMountsOfTypes(types: string[], pid: number | 'self' = 'self'): MountEntry[] {
  return parseMountsOfTypes(readFileSync(`/proc/${pid}/mountinfo`, 'utf8'), types);
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

/** Mounts at or below dir now, deepest first: only the lines of mountinfo that hold dir are parsed. */
export function mountsUnderNow(dir: string): MountEntry[] {
  return mountsUnder(readMountsAt([dir]), dir);
}

/** Something is mounted at path now (only the lines of mountinfo that hold it are parsed). */
export function isMountPointNow(path: string): boolean {
  return isMountPoint(readMountsAt([path]), path);
}
