import { chmodSync, copyFileSync, existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ConfigError } from '../errors';
import { run } from '../host/exec';
import { BUSYBOX_FILES, BUSYBOX_LINKS } from './busybox-files';
import { commonGuestFiles, interfacesFile } from './guest-files';
import type { BootstrapRequest } from './options';

export const BUSYBOX = '/bin/busybox';

function write(root: string, path: string, content: string, mode = 0o644): void {
  const target = join(root, path);
  mkdirSync(dirname(target), { recursive: true });
  // Replaces an applet link (sbin/halt -> busybox) instead of writing through it into busybox.
  rmSync(target, { force: true });
  writeFileSync(target, content, { mode });
  chmodSync(target, mode);
}

/** A busybox-static root: every applet linked where busybox --list-full says, rcS, rc and the network script. */
export async function buildBusyboxRoot(root: string, req: BootstrapRequest): Promise<void> {
  if (!existsSync(BUSYBOX)) throw new ConfigError(`${BUSYBOX} is missing: install the busybox-static package`);
  const ldd = await run(['ldd', BUSYBOX], { allowFailure: true });
  if (!/not a dynamic/.test(ldd.stdout + ldd.stderr)) throw new ConfigError(`${BUSYBOX} is linked dynamically: install busybox-static (the guest has no libraries)`);
  const { stdout } = await run([BUSYBOX, '--list-full']);
  for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc/init.d', 'etc/rcS.d', 'etc/rc2.d', 'etc/network', 'proc', 'sys', 'dev', 'run', 'tmp', 'root', 'var/log', 'mnt']) {
    mkdirSync(join(root, d), { recursive: true });
  }
  chmodSync(join(root, 'tmp'), 0o1777);
  chmodSync(join(root, 'root'), 0o700);
  copyFileSync(BUSYBOX, join(root, 'bin/busybox'));
  chmodSync(join(root, 'bin/busybox'), 0o755);
  for (const applet of stdout.split('\n').filter(Boolean)) {
    if (applet === 'bin/busybox') continue;
    const target = join(root, applet);
    mkdirSync(dirname(target), { recursive: true });
    if (!existsSync(target)) symlinkSync(`${'../'.repeat(applet.split('/').length - 1)}bin/busybox`, target);
  }
  for (const [path, f] of Object.entries(BUSYBOX_FILES)) write(root, path, f.content, f.mode);
  for (const [path, target] of Object.entries(BUSYBOX_LINKS)) {
    rmSync(join(root, path), { force: true, recursive: true });
    symlinkSync(target, join(root, path));
  }
  writeGuestNetwork(root, req, 'udhcpc');
}

/** Host name, hosts, fstab and the interfaces: what bootstrap writes into every guest (and an overlay's upper layer). */
export function writeGuestNetwork(root: string, req: BootstrapRequest, client: 'udhcpc' | 'ifupdown'): void {
  // An overlay keeps its BASE's fstab: the upper layer only holds what makes the guest this subhost.
  for (const [path, content] of Object.entries(commonGuestFiles(req))) if (!(req.layout.kind === 'base' && path === 'etc/fstab')) write(root, path, content);
  write(root, 'etc/network/interfaces', interfacesFile(req, client));
}
