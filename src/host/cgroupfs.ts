import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { SubhostError, errnoCode } from '../errors';
import { readMountsOfTypes, type MountEntry } from './mountinfo';

/**
 * The cgroup2 mount: /sys/fs/cgroup on pure v2 hosts, /sys/fs/cgroup/unified on hybrid ones. Only
 * mountinfo's cgroup lines are parsed: with 200 subhosts running (600 mounts) a whole parse took 3.5 ms.
 */
export function findCgroup2Mount(entries: MountEntry[] = readCgroupMounts()): string {
  const m = entries.find((e) => e.fsType === 'cgroup2' && e.root === '/');
  if (!m) throw new SubhostError('no cgroup2 filesystem is mounted (looked in /proc/self/mountinfo)');
  return m.mountPoint;
}

/** The cgroup2 and v1 cgroup mounts of mountinfo, parsed from their own lines only. */
export function readCgroupMounts(): MountEntry[] {
  return readMountsOfTypes(['cgroup2', 'cgroup']);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One cgroup directory; every kernel-file quirk is handled here. */
export class Cgroup {
  constructor(readonly path: string) {}

  /** A file or child of this cgroup: a file name joined without path.join, whose normalizing took 4-6 ms of a stop's kill loop. */
  file(name: string): string {
    return this.path === '/' ? `/${name}` : `${this.path}/${name}`;
  }

  child(name: string): Cgroup {
    return new Cgroup(this.file(name));
  }

  exists(): boolean {
    return existsSync(this.file('cgroup.procs'));
  }

  has(key: string): boolean {
    return existsSync(this.file(key));
  }

  get(key: string): string | undefined {
    try {
      return readFileSync(this.file(key), 'utf8');
    } catch {
      return undefined;
    }
  }

  set(key: string, value: string): void {
    try {
      writeFileSync(this.file(key), value);
    } catch (err) {
      throw new SubhostError(`writing ${JSON.stringify(value)} to ${this.file(key)}: ${(err as Error).message}`);
    }
  }

  create(): void {
    mkdirSync(this.path, { recursive: true });
  }

  /** Controllers this cgroup may enable for its children. */
  controllers(): string[] {
    return (this.get('cgroup.controllers') ?? '').trim().split(/\s+/).filter(Boolean);
  }

  subtreeControl(): string[] {
    return (this.get('cgroup.subtree_control') ?? '').trim().split(/\s+/).filter(Boolean);
  }

  /** Enable what is wanted and available; returns what is in force afterwards. */
  enableControllers(wanted: string[]): string[] {
    const available = new Set(this.controllers());
    const enabled = this.subtreeControl();
    const missing = wanted.filter((c) => available.has(c) && !enabled.includes(c));
    for (const c of missing) {
      // One at a time: a single busy controller must not block the others.
      try {
        this.set('cgroup.subtree_control', `+${c}`);
      } catch {
        /* reported by the caller as a controller not in force */
      }
    }
    return this.subtreeControl();
  }

  procs(): number[] {
    return (this.get('cgroup.procs') ?? '').split('\n').filter(Boolean).map(Number);
  }

  /** Every process in this cgroup and its descendants. */
  allProcs(): number[] {
    return [...this.procs(), ...this.children().flatMap((c) => c.allProcs())];
  }

  children(): Cgroup[] {
    try {
      return readdirSync(this.path, { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => this.child(d.name));
    } catch {
      return [];
    }
  }

  addProc(pid: number): void {
    this.set('cgroup.procs', String(pid));
  }

  populated(): boolean {
    const events = this.get('cgroup.events');
    if (events === undefined) return this.allProcs().length > 0;
    return /^populated 1$/m.test(events);
  }

  /** SIGKILL everything in the subtree: cgroup.kill where the kernel has it (5.14+), else one by one. */
  kill(): void {
    if (!this.exists()) return;
    if (this.has('cgroup.kill')) {
      this.set('cgroup.kill', '1');
      return;
    }
    for (const pid of this.allProcs()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }

  async waitEmpty(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
      if (!this.exists() || !this.populated()) return true;
      if (Date.now() > deadline) return false;
      if (!this.has('cgroup.kill')) this.kill();
      await sleep(delay);
    }
  }

  /** rmdir the subtree, deepest first. An empty cgroup can be removed; a populated one cannot. */
  remove(): void {
    if (!existsSync(this.path)) return;
    for (const c of this.children()) c.remove();
    try {
      rmdirSync(this.path);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw new SubhostError(`removing cgroup ${this.path}: ${(err as Error).message}`);
    }
  }
}
