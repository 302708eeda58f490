import { chmodSync, copyFileSync, existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SubhostError } from '../../errors';
import { run } from '../../host/exec';

export const BUSYBOX = '/bin/busybox';

export interface RootFile {
  content: string | Buffer;
  mode?: number;
}

/** A default sysvinit-like busybox guest: rcS mounts fstab, rc runs /etc/rcN.d/S* scripts. */
export const DEFAULT_GUEST_FILES: Record<string, RootFile> = {
  'etc/passwd': { content: 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' },
  'etc/group': { content: 'root:x:0:\ntty:x:5:\ndisk:x:6:\nnogroup:x:65534:\n' },
  'etc/fstab': { content: '# <fs> <mount point> <type> <options> <dump> <pass>\n' },
  'etc/profile': { content: 'export PS1="\\h:\\w# "\n' },
  'etc/init.d/rcS': {
    mode: 0o755,
    content: `#!/bin/sh
# System start: mount what /etc/fstab lists, configure the network, then record that we ran.
echo "rcS: starting"
mount -a
[ -x /etc/network.sh ] && /etc/network.sh
date +%s > /run/rcS.ran
echo "rcS: done"
`,
  },
  'etc/init.d/rc': {
    mode: 0o755,
    content: `#!/bin/sh
# Enter runlevel $1: start every /etc/rc$1.d/S* script in order.
echo "rc: runlevel $1"
for s in /etc/rc$1.d/S*; do
	[ -x "$s" ] && "$s" start
done
echo "$1" > /run/rc.ran
`,
  },
};

/** Busybox with every applet linked where busybox --list-full says, plus the given files. */
export async function buildBusyboxRoot(dir: string, files: Record<string, RootFile> = DEFAULT_GUEST_FILES, busybox = BUSYBOX): Promise<void> {
  if (!existsSync(busybox)) throw new SubhostError(`${busybox} is missing: install the busybox-static package (apt-get install busybox-static)`);
  const { stdout } = await run([busybox, '--list-full']);
  for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc/init.d', 'proc', 'sys', 'dev', 'run', 'tmp', 'root', 'var/log', 'mnt', 'data']) {
    mkdirSync(join(dir, d), { recursive: true });
  }
  chmodSync(join(dir, 'tmp'), 0o1777);
  copyFileSync(busybox, join(dir, 'bin/busybox'));
  chmodSync(join(dir, 'bin/busybox'), 0o755);
  for (const applet of stdout.split('\n').filter(Boolean)) {
    if (applet === 'bin/busybox') continue;
    const target = join(dir, applet);
    const depth = applet.split('/').length - 1;
    mkdirSync(dirname(target), { recursive: true });
    if (!existsSync(target)) symlinkSync(`${'../'.repeat(depth)}bin/busybox`, target);
  }
  for (const [path, f] of Object.entries(files)) {
    const target = join(dir, path);
    mkdirSync(dirname(target), { recursive: true });
    // Replaces an applet link (sbin/halt -> busybox) instead of writing through it into busybox.
    rmSync(target, { force: true });
    writeFileSync(target, f.content, { mode: f.mode ?? 0o644 });
    chmodSync(target, f.mode ?? 0o644);
  }
}
