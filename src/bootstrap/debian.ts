import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive } from '../host/proc';
import { writeGuestNetwork } from './busybox-root';
import { isolated, runGuarded, runWithFd3 } from './guarded';
import type { BootstrapRequest } from './options';
import type { Progress, ProgressEvent } from './progress';
import { parseStagingName } from './staging';

/** What a Debian subhost needs besides minbase: its own sysvinit, ifupdown with a DHCP client, ip. */
export const DEBIAN_PACKAGES = ['sysvinit-core', 'ifupdown', 'isc-dhcp-client', 'iproute2', 'procps', 'netbase'];

export interface DebianPlan {
  suite: string;
  mirror: string;
  packages: string[];
  /** The cached tarball of .debs for this suite, mirror and package list. */
  tarball: string;
}

export function debianPlan(req: BootstrapRequest, suite: string, mirror: string, cacheDir: string): DebianPlan {
  const packages = [...new Set([...DEBIAN_PACKAGES, ...req.packages])].sort();
  const key = createHash('sha256').update(JSON.stringify({ suite, mirror, packages, arch: process.arch })).digest('hex').slice(0, 12);
  return { suite, mirror, packages, tarball: join(cacheDir, 'debootstrap', `${suite}-${process.arch}-${key}.tgz`) };
}

function debootstrapArgs(plan: DebianPlan): string[] {
  return ['--variant=minbase', `--include=${plan.packages.join(',')}`, '--exclude=systemd-sysv'];
}

/**
 * debootstrap's --debian-installer messages on fd 3 as progress events: "P: now end NAME" opens a
 * step whose text follows as "PF: …"; "P: now end" alone (wget's percentage) moves it on.
 * DOWNDEBS counts bytes; the install steps count packages; the others are percentages.
 */
export function progressParser(report: (e: ProgressEvent) => void, phaseOf: (name: string) => ProgressEvent['phase']): (line: string) => void {
  let name = '';
  let now = 0;
  let end = 0;
  let step = '';
  const emit = () => {
    const phase = phaseOf(name);
    if (name === 'DOWNDEBS') report({ phase, step, done: now, total: end, bytes: now });
    else if (phase === 'install') report({ phase, step, done: now, total: end });
    else report({ phase, step });
  };
  return (line) => {
    const p = /^P: (\d+) (\d+)(?: (\S+))?$/.exec(line);
    if (p) {
      now = Number(p[1]);
      end = Number(p[2]);
      if (p[3]) name = p[3];
      else if (step) emit();
      return;
    }
    if (line.startsWith('PF: ')) {
      step = line.slice(4);
      emit();
    }
  };
}

const INSTALL_STEPS = /^(EXTRACTPKGS|INSTCORE|UNPACKREQ|CONFREQ|UNPACKBASE|CONFBASE)$/;

/** Remove cache files whose bootstrap was killed while writing them. */
function removeStalePartials(dir: string): void {
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) {
    const owner = n.endsWith('.partial') ? parseStagingName(n.slice(0, -'.partial'.length).replace(/^.*?(\.bootstrap-)/, '$1')) : undefined;
    if (owner && !isAlive(owner.owner)) rmSync(join(dir, n), { force: true });
  }
}

/**
 * The .debs, downloaded once into the cache (debootstrap --make-tarball), then installed from the
 * tarball alone: the next bootstrap of the same suite, mirror and packages downloads nothing.
 */
export async function ensureTarball(plan: DebianPlan, staging: string, progress: Progress): Promise<void> {
  if (existsSync(plan.tarball)) return;
  const dir = join(plan.tarball, '..');
  mkdirSync(dir, { recursive: true });
  removeStalePartials(dir);
  const partial = `${plan.tarball.slice(0, -'.tgz'.length)}${staging.slice(staging.lastIndexOf('/') + 1)}.partial`;
  const work = join(staging, 'download');
  try {
    const onLine = progressParser((e) => progress.report(e), (n) => (INSTALL_STEPS.test(n) ? 'install' : 'download'));
    await runWithFd3(isolated(['debootstrap', '--debian-installer', ...debootstrapArgs(plan), `--make-tarball=${partial}`, plan.suite, work, plan.mirror]), onLine);
    renameSync(partial, plan.tarball);
  } finally {
    rmSync(partial, { force: true });
    rmSync(work, { recursive: true, force: true });
  }
}

/** dpkg fsyncs every file it unpacks; a tree that becomes an image or is discarded on failure needs none of that. */
const UNSAFE_IO = 'etc/dpkg/dpkg.cfg.d/subhost-bootstrap-unsafe-io';

export async function debootstrapInto(root: string, plan: DebianPlan, progress: Progress): Promise<void> {
  mkdirSync(join(root, 'etc/dpkg/dpkg.cfg.d'), { recursive: true });
  writeFileSync(join(root, UNSAFE_IO), 'force-unsafe-io\n');
  const onLine = progressParser((e) => progress.report(e), () => 'install');
  await runWithFd3(isolated(['debootstrap', '--debian-installer', ...debootstrapArgs(plan), `--unpack-tarball=${plan.tarball}`, plan.suite, root, plan.mirror]), onLine);
}

/** Scripts a VM needs and a subhost must not run: the host owns the clock, the kernel, udev and the consoles. */
const DISABLED_SCRIPTS = ['hwclock.sh', 'kmod', 'udev', 'procps', 'brightness', 'bootlogs', 'keyboard-setup.sh', 'console-setup.sh'];

const SETUP = `set -e
for s in ${DISABLED_SCRIPTS.join(' ')}; do
	[ ! -e /etc/init.d/$s ] || update-rc.d $s disable >/dev/null 2>&1 || true
done
# No getty: a subhost has no terminals but the console subhost gives it.
[ ! -f /etc/inittab ] || sed -i 's/^\\([^#].*:respawn:.*getty.*\\)$/#\\1/' /etc/inittab
passwd -l root >/dev/null
`;

/** Make the debootstrapped tree boot as a subhost: host name, network, no hardware clock or modules, locked root. */
export async function configureDebian(root: string, req: BootstrapRequest): Promise<void> {
  writeGuestNetwork(root, req, 'ifupdown');
  writeFileSync(join(root, 'etc/default/hwclock'), '# The clock is the host\'s: a subhost never touches the hardware clock.\nHWCLOCKACCESS=no\n');
  mkdirSync(join(root, 'etc/modules-load.d'), { recursive: true });
  writeFileSync(join(root, 'etc/modules'), '# A subhost runs on the host kernel: it loads no modules.\n');
  await runGuarded(['chroot', root, '/bin/sh', '-c', SETUP], { cleanEnv: true, env: { HOME: '/root' } });
  rmSync(join(root, UNSAFE_IO), { force: true });
  rmSync(join(root, 'var/cache/apt/archives'), { recursive: true, force: true });
  mkdirSync(join(root, 'var/cache/apt/archives/partial'), { recursive: true });
}

