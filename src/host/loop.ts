import { existsSync, readdirSync } from 'node:fs';
import { readFileOr } from './read-file';
import { basename } from 'node:path';
import { CommandError } from '../errors';
import { nativeTeardown, noteCall, run } from './exec';
import { describeForeignMounts, mountsInOtherNamespaces } from './mount-namespaces';

export interface LoopDevice {
  /** /dev/loopN */
  dev: string;
  backingFile: string;
  readonly offset: number;
  readonly sizeLimit: number;
}

export interface BlockNumbers {
  major: number;
  minor: number;
}

const SYS_BLOCK = '/sys/block';
/** Disks and their partitions alike. */
const SYS_CLASS_BLOCK = '/sys/class/block';

function readSys(path: string): string | undefined {
  return readFileOr(path)?.trim();
}

/** Attach a file; with partscan the kernel makes loopNpK for each partition it can parse. */
export async function attachLoop(file: string, opts: { partscan?: boolean; offset?: number; sizeLimit?: number } = {}): Promise<string> {
  const argv = ['losetup', '--find', '--show'];
  if (opts.partscan) argv.push('--partscan');
  if (opts.offset) argv.push('--offset', String(opts.offset));
  if (opts.sizeLimit) argv.push('--sizelimit', String(opts.sizeLimit));
  argv.push(file);
  const calls = nativeTeardown();
  if (calls && file.startsWith('/')) {
    try {
      return await noteCall(argv, () => calls.attachLoop(file, opts.offset ?? 0, opts.sizeLimit ?? 0, opts.partscan === true));
    } catch (err) {
      // A kernel before 5.8 has no LOOP_CONFIGURE, and a file we may not open read-write losetup
      // attaches read-only: losetup knows both ways.
      const code = (err as NodeJS.ErrnoException).code ?? '';
      if (!['ENOTTY', 'EINVAL', 'EROFS', 'EACCES', 'EPERM'].includes(code)) throw new CommandError(argv, 1, null, (err as Error).message);
    }
  }
  const { stdout } = await run(argv);
  return stdout.trim();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Detach, and wait until it is done: while anything else has the device open (a concurrent
 * losetup or mount looking at it, a filesystem still being let go), the kernel only marks it
 * to detach itself on the last close, and losetup returns at once.
 */
export function detachLoop(dev: string, waitMs = 5000): Promise<void> {
  return detachLoops([dev], waitMs);
}

/** LOOP_CLR_FD on each (the addon's, else one losetup --detach): what failed, as losetup says it. */
async function detachNow(devs: string[]): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  const calls = nativeTeardown();
  if (!calls) return run(['losetup', '--detach', ...devs], { allowFailure: true });
  const failed = await noteCall(['losetup', '--detach', ...devs], () => Promise.all(devs.map((d) => calls.detachLoop(d).then(() => '', (e: Error) => e.message))));
  const stderr = failed.filter(Boolean).join('\n');
  return { code: stderr ? 1 : 0, signal: null, stderr };
}

/** Detach several devices with one losetup, then wait for each as detachLoop does. */
export async function detachLoops(devs: string[], waitMs = 5000): Promise<void> {
  const attached = devs.map((dev) => ({ dev, backing: backingFileOf(dev) })).filter((d) => d.backing !== undefined);
  if (!attached.length) return;
  const r = await detachNow(attached.map((d) => d.dev));
  const deadline = Date.now() + waitMs;
  for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
    const still = attached.filter((d) => backingFileOf(d.dev) === d.backing);
    if (!still.length) return;
    if (Date.now() > deadline) {
      const why = r.stderr || `${still.map((d) => d.dev).join(', ')} still attached after ${waitMs / 1000} s (${whoHolds(still.map((d) => d.dev))})`;
      throw new CommandError(['losetup', '--detach', ...attached.map((d) => d.dev)], r.code, r.signal, why);
    }
    await sleep(delay);
  }
}

/** loopN's MAJ:MIN and its partitions' (loopNp1…), from sysfs. */
function loopDevNumbers(dev: string): Set<string> {
  const name = basename(dev);
  const parts = existsSync(`${SYS_BLOCK}/${name}`) ? readdirSync(`${SYS_BLOCK}/${name}`).filter((e) => e.startsWith(`${name}p`)) : [];
  return new Set([`${SYS_BLOCK}/${name}/dev`, ...parts.map((p) => `${SYS_BLOCK}/${name}/${p}/dev`)].flatMap((f) => readSys(f) ?? []));
}

/**
 * Why a detach waits in vain: usually another mount namespace holds a copy of the mount, and the
 * loop (marked to detach on its last close) goes when that namespace ends.
 */
function whoHolds(devs: string[]): string {
  const numbers = new Set(devs.flatMap((d) => [...loopDevNumbers(d)]));
  const foreign = mountsInOtherNamespaces(numbers);
  if (!foreign.length) return 'in use';
  return `in use: ${describeForeignMounts(foreign)}; it detaches itself when that namespace ends`;
}

/** The file behind loopN, or undefined when it is not attached (a deleted file keeps its name). */
function backingFileOf(dev: string): string | undefined {
  return readSys(`${SYS_BLOCK}/${basename(dev)}/loop/backing_file`)?.replace(/ \(deleted\)$/, '');
}

/**
 * Attached loop devices, read from sysfs (no process spawned). The offset and size are read
 * lazily: with hundreds of loops, most callers only look at the backing file.
 */
export function listLoops(): LoopDevice[] {
  let names: string[];
  try {
    names = readdirSync(SYS_BLOCK).filter((n) => /^loop\d+$/.test(n));
  } catch {
    return [];
  }
  const loops: LoopDevice[] = [];
  for (const n of names) {
    // loopN/loop/ is there only while attached: a stat, not a failed read (and its thrown error) per free device.
    if (!existsSync(`${SYS_BLOCK}/${n}/loop`)) continue;
    const backing = backingFileOf(n);
    if (backing !== undefined) loops.push(loopDevice(n, backing));
  }
  return loops;
}

function loopDevice(name: string, backingFile: string): LoopDevice {
  let offset: number | undefined;
  let sizeLimit: number | undefined;
  return {
    dev: `/dev/${name}`,
    backingFile,
    get offset() {
      return (offset ??= Number(readSys(`${SYS_BLOCK}/${name}/loop/offset`) ?? 0));
    },
    get sizeLimit() {
      return (sizeLimit ??= Number(readSys(`${SYS_BLOCK}/${name}/loop/sizelimit`) ?? 0));
    },
  };
}

/** One attached loop device, or undefined when it is not attached. */
export function loopInfo(dev: string): LoopDevice | undefined {
  const backing = backingFileOf(dev);
  return backing === undefined ? undefined : loopDevice(basename(dev), backing);
}

/** Major and minor numbers of a block device, from sysfs (loop0, loop0p1). */
export function blockNumbers(dev: string): BlockNumbers | undefined {
  const name = basename(dev);
  const part = /^(loop\d+)p\d+$/.exec(name);
  const path = part ? `${SYS_BLOCK}/${part[1]}/${name}/dev` : `${SYS_BLOCK}/${name}/dev`;
  const text = readSys(path);
  if (!text) return undefined;
  const [major, minor] = text.split(':').map(Number);
  return { major, minor };
}

/** Where the kernel put partition DEV (/dev/loop0p1) in its disk: sysfs start and size, in 512-byte sectors. */
export function kernelPartitionExtent(dev: string): { start: number; sectors: number } | undefined {
  const name = basename(dev);
  const start = readFileOr(`${SYS_CLASS_BLOCK}/${name}/start`);
  const size = readFileOr(`${SYS_CLASS_BLOCK}/${name}/size`);
  if (start === undefined || size === undefined || !/^\d+\s*$/.test(start) || !/^\d+\s*$/.test(size)) return undefined;
  return { start: Number(start), sectors: Number(size) };
}

/** The kernel's partition device loopNpK, when its partition scan made one. */
export function kernelPartition(dev: string, part: number): string | undefined {
  const name = basename(dev);
  return existsSync(`${SYS_BLOCK}/${name}/${name}p${part}`) ? `/dev/${name}p${part}` : undefined;
}
