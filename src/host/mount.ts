import { CommandError } from '../errors';
import { nativeTeardown, noteCall, run } from './exec';
import { mountsUnder, readMountsAt } from './mountinfo';

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
  await run(argv);
}

/** Host-side mounts of a guest's files: its setuid programs and device nodes do nothing for host users. */
export const GUEST_MOUNT_OPTIONS = ['nosuid', 'nodev'];

/** nosuid,nodev on target and every mount below it (an rbind brings its source's submounts); ro and the rest kept. */
export async function restrictTree(target: string): Promise<void> {
  for (const m of mountsUnder(readMountsAt([target]), target)) await run(['mount', '-o', `remount,bind,${GUEST_MOUNT_OPTIONS.join(',')}`, m.mountPoint]);
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
  try {
    await noteCall(argv, () => calls.umount(target, opts.lazy === true));
  } catch (err) {
    throw new CommandError(argv, 32, null, (err as Error).message);
  }
}

/** Unmount every mount at or below dir, deepest first; returns what it could not unmount. */
export async function umountTree(dir: string): Promise<string[]> {
  const failed: string[] = [];
  for (const m of mountsUnder(readMountsAt([dir]), dir)) {
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
