import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildBusyboxRoot } from '../test/fixtures/image/busybox-root';
import { makeDiskImage } from '../test/fixtures/image/disk-image';
import { run } from '../src/host/exec';
import { subhostArgv, timed } from './run';

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return []; // not made yet
  }
}

/** SUBHOST_BENCH_PREFIX (default bn): two benches (or a bench and the tests) on one host keep apart. */
export function benchPrefix(env: NodeJS.ProcessEnv = process.env): string {
  const p = env.SUBHOST_BENCH_PREFIX ?? 'bn';
  if (!/^[a-z]{2,3}$/.test(p)) throw new Error(`SUBHOST_BENCH_PREFIX must be 2 or 3 lower-case letters, not ${JSON.stringify(p)}`);
  return p;
}

/** The bench's own world: a root folder, a bridge and subhosts named PREFIX*, all removed at the end. */
export class BenchWorld {
  readonly prefix = benchPrefix();
  readonly root = this.prefix === 'bn' ? '/var/tmp/subhost-bench' : `/var/tmp/subhost-bench-${this.prefix}`;
  readonly bridge = `${this.prefix}br0`;
  private tree?: string;
  readonly env: NodeJS.ProcessEnv = { ...process.env, SUBHOST_ROOT: this.root };

  name(i: number): string {
    return `${this.prefix}${String(i).padStart(3, '0')}`;
  }

  async setUp(): Promise<void> {
    await this.tearDown();
    // Other users must not reach live/: boot refuses a subhost folder they can traverse.
    mkdirSync(this.root, { recursive: true, mode: 0o700 });
    chmodSync(this.root, 0o700);
    await run(['ip', '-batch', '-'], { input: `link add ${this.bridge} type bridge\nlink set ${this.bridge} up\n` });
    this.tree = mkdtempSync('/tmp/subhost-bench-root-');
    await buildBusyboxRoot(this.tree);
  }

  /** A disk-image subhost (partitioned busybox image) with one veth on the bench bridge. */
  async makeSubhost(i: number): Promise<string> {
    const name = this.name(i);
    const dir = join(this.root, name);
    mkdirSync(dir, { recursive: true });
    await makeDiskImage(join(dir, 'disk.raw'), { sizeMiB: 32, from: this.tree });
    writeFileSync(join(dir, 'config'), `DISKS=( vda:1:disk.raw )\nBRIDGES=( ${this.bridge} )\n`);
    return name;
  }

  async tearDown(): Promise<void> {
    const names = listDir(this.root).filter((n) => n.length === this.prefix.length + 3 && n.startsWith(this.prefix) && /^\d{3}$/.test(n.slice(this.prefix.length)));
    if (names.length) timed(subhostArgv('stop', ...names), this.env);
    await run(['ip', 'link', 'del', this.bridge], { allowFailure: true });
    rmSync(this.root, { recursive: true, force: true });
    // Console logs and lock files are kept by subhost on purpose; the bench's own names go with it.
    for (const dir of ['/run/subhost/.logs', '/run/subhost/.locks']) {
      for (const f of listDir(dir)) if (new RegExp(`^${this.prefix}u?\\d{3}(\\.log(\\.1)?)?$`).test(f)) rmSync(join(dir, f), { force: true });
    }
    if (this.tree) rmSync(this.tree, { recursive: true, force: true });
  }
}
