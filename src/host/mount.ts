import { statSync } from 'node:fs';
import { callAsTool, nativeTeardown, run } from './exec';
import { mountsUnderNow } from './mountinfo';

export interface MountOptions {
  type?: string;
  options?: string[];
  bind?: boolean;
  rbind?: boolean;
}

export async function mount(source: string, target: string, opts: MountOptions = {}): Promise<void> {
  const argv = ['mount'];
  if (opts.type) argv.push('-t', opts.type);
  if (opts.bind) argv.push('--bind');
  if (opts.rbind) argv.push('--rbind');
  if (opts.options?.length) argv.push('-o', opts.options.join(','));
  argv.push(source, target);
  const call = nativeTeardown()?.mount;
  const args = call && mountCallArgs(opts);
  // mount(8) attaches a loop for a regular file as the source of a filesystem: that is not one call.
  if (!call || !args || (!args.bind && isRegularFile(source))) {
    await run(argv);
    return;
  }
  // What mount(8) says of EINVAL: the kernel tells which in its log.
  const hint = (err: NodeJS.ErrnoException) => (err.code === 'EINVAL' && !args.bind ? ' (wrong filesystem type, bad option or bad superblock: see dmesg)' : '');
  await callAsTool(argv, 32, () => call(source, target, args.type, args.flags, args.data), (err) => `${err.message.replace(/^mount /, '')}${hint(err)}`);
}

function isRegularFile(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isFile() === true;
}

/** mount(8)'s flag options (mount(2)'s MS_*), the ones it passes to the kernel as flags rather than data. */
const FLAG_OPTIONS: Record<string, number> = { ro: 1, rw: 0, nosuid: 2, nodev: 4, noexec: 8, sync: 16, dirsync: 128, noatime: 1024, nodiratime: 2048, relatime: 1 << 21, strictatime: 1 << 24 };
const MS_BIND = 4096;
const MS_REC = 16384;
/** key=value options that mount(8) acts on itself (a loop, a helper, userspace x-*): such a mount goes through mount(8). */
const USERSPACE_OPTION = /^(x-|X-|(loop|offset|sizelimit|helper|uhelper|encryption)=)/;

/**
 * The one mount(2) that mount(8) would make for these options, or undefined where mount(8) does
 * more (a bind with options is a bind and then a remount; options of its own).
 */
export function mountCallArgs(opts: MountOptions): { type: string; flags: number; data: string; bind: boolean } | undefined {
  const bind = opts.bind || opts.rbind;
  if (bind && (opts.type || opts.options?.length)) return undefined;
  if (!bind && !opts.type) return undefined;
  let flags = bind ? MS_BIND | (opts.rbind ? MS_REC : 0) : 0;
  const data: string[] = [];
  for (const o of opts.options ?? []) {
    if (Object.hasOwn(FLAG_OPTIONS, o)) flags |= FLAG_OPTIONS[o]!;
    else if (o.includes('=') && !USERSPACE_OPTION.test(o)) data.push(o);
    else return undefined;
  }
  return { type: opts.type ?? '', flags, data: data.join(','), bind: bind === true };
}

/** Host-side mounts of a guest's files: its setuid programs and device nodes do nothing for host users. */
export const GUEST_MOUNT_OPTIONS = ['nosuid', 'nodev'];

/** nosuid,nodev on target and every mount below it (an rbind brings its source's submounts); ro and the rest kept. */
export async function restrictTree(target: string): Promise<void> {
  for (const m of mountsUnderNow(target)) await run(['mount', '-o', `remount,bind,${GUEST_MOUNT_OPTIONS.join(',')}`, m.mountPoint]);
}

export async function makePrivate(target: string, recursive = true): Promise<void> {
  await run(['mount', recursive ? '--make-rprivate' : '--make-private', target]);
}

export async function umount(target: string, opts: { lazy?: boolean; recursive?: boolean } = {}): Promise<void> {
  const argv = ['umount'];
  if (opts.lazy) argv.push('--lazy');
  if (opts.recursive) argv.push('--recursive');
  argv.push(target);
  // The system call umount(8) makes for our mounts (no helper, no utab entry): a process less.
  const calls = opts.recursive ? undefined : nativeTeardown();
  if (!calls) {
    await run(argv);
    return;
  }
  await callAsTool(argv, 32, () => calls.umount(target, opts.lazy === true));
}

/** Unmount every mount at or below dir, deepest first; returns what it could not unmount. */
export async function umountTree(dir: string): Promise<string[]> {
  const failed: string[] = [];
  for (const m of mountsUnderNow(dir)) {
    try {
      await umount(m.mountPoint);
    } catch {
      try {
        // Busy (an open file from a process we could not see): detach it so nothing is pinned.
        await umount(m.mountPoint, { lazy: true });
      } catch {
        failed.push(m.mountPoint);
      }
    }
  }
  return failed;
}
