import { SubhostError } from '../../errors';

/**
 * The syscalls share/pivot-exec.pl makes (perl's syscall() needs their numbers), by Node's
 * process.arch: the pivot and the guest's filesystems, and what nsenter --net and setpriv did in
 * processes of their own (setns, prctl, capget, capset).
 */
const SYSCALLS: Record<string, number[]> = {
  // pivot_root, umount2, mount, mknodat, sethostname, setns, prctl, capget, capset
  x64: [155, 166, 165, 259, 170, 308, 157, 125, 126],
  arm64: [41, 39, 40, 33, 161, 268, 167, 90, 91],
  riscv64: [41, 39, 40, 33, 161, 268, 167, 90, 91],
};

/** "PIVOT_ROOT UMOUNT2 MOUNT MKNODAT SETHOSTNAME SETNS PRCTL CAPGET CAPSET", as share/pid1-stage.sh passes them on. */
export function pivotSyscalls(arch: string = process.arch): string {
  const s = SYSCALLS[arch];
  if (!s) throw new SubhostError(`this architecture (${arch}) is not supported: share/pivot-exec.pl needs its pivot_root, umount2, mount, mknodat, sethostname, setns, prctl, capget and capset numbers`);
  return s.join(' ');
}
