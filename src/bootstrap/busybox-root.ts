import { chmodSync, copyFileSync, existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ConfigError } from '../errors';
import { run } from '../host/exec';
import { BUSYBOX_FILES, BUSYBOX_LINKS } from './busybox-files';
import { commonGuestFiles, interfacesFile } from './guest-files';
import type { BootstrapRequest } from './options';

export const BUSYBOX = '/bin/busybox';

/** Folders every busybox guest has (the applets' own are made as they are linked). */
const GUEST_DIRS = ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc/init.d', 'proc', 'sys', 'dev', 'run', 'tmp', 'root', 'var/log', 'mnt'];

/** One file of a root filesystem, made with its folders and mode. */
export function writeRootFile(root: string, path: string, content: string | Buffer, mode = 0o644): void {
  const target = join(root, path);
  mkdirSync(dirname(target), { recursive: true });
  // Replaces an applet link (sbin/halt -> busybox) instead of writing through it into busybox.
  rmSync(target, { force: true });
  writeFileSync(target, content, { mode });
  chmodSync(target, mode);
}

/**
 * The static /bin/busybox copied into root with every applet linked where `busybox --list-full`
 * says, and the folders of a guest (plus extraDirs): what `bootstrap --from busybox` and the
 * tests' busybox guests are built on.
 */
export async function installBusybox(root: string, extraDirs: string[] = []): Promise<void> {
  if (!existsSync(BUSYBOX)) throw new ConfigError(`${BUSYBOX} is missing: install the busybox-static package`);
  const ldd = await run(['ldd', BUSYBOX], { allowFailure: true });
  if (!/not a dynamic/.test(ldd.stdout + ldd.stderr)) throw new ConfigError(`${BUSYBOX} is linked dynamically: install busybox-static (the guest has no libraries)`);
  const { stdout } = await run([BUSYBOX, '--list-full']);
  for (const d of [...GUEST_DIRS, ...extraDirs]) mkdirSync(join(root, d), { recursive: true });
  chmodSync(join(root, 'tmp'), 0o1777);
  copyFileSync(BUSYBOX, join(root, 'bin/busybox'));
  chmodSync(join(root, 'bin/busybox'), 0o755);
  for (const applet of stdout.split('\n').filter(Boolean)) {
    if (applet === 'bin/busybox') continue;
    const target = join(root, applet);
    mkdirSync(dirname(target), { recursive: true });
    if (!existsSync(target)) symlinkSync(`${'../'.repeat(applet.split('/').length - 1)}bin/busybox`, target);
  }
}

/** A busybox-static root: every applet linked where busybox --list-full says, rcS, rc and the network script. */
export async function buildBusyboxRoot(root: string, req: BootstrapRequest): Promise<void> {
  await installBusybox(root, ['etc/rcS.d', 'etc/rc2.d', 'etc/network']);
  chmodSync(join(root, 'root'), 0o700);
  for (const [path, f] of Object.entries(BUSYBOX_FILES)) writeRootFile(root, path, f.content, f.mode);
  for (const [path, target] of Object.entries(BUSYBOX_LINKS)) {
    rmSync(join(root, path), { force: true, recursive: true });
    symlinkSync(target, join(root, path));
  }
  writeGuestNetwork(root, req, 'udhcpc');
}

/** Host name, hosts, fstab and the interfaces: what bootstrap writes into every guest (and an overlay's upper layer). */
export function writeGuestNetwork(root: string, req: BootstrapRequest, client: 'udhcpc' | 'ifupdown'): void {
  // An overlay keeps its BASE's fstab: the upper layer only holds what makes the guest this subhost.
  for (const [path, content] of Object.entries(commonGuestFiles(req))) if (!(req.layout.kind === 'base' && path === 'etc/fstab')) writeRootFile(root, path, content);
  writeRootFile(root, 'etc/network/interfaces', interfacesFile(req, client));
}
