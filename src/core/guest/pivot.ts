import { SubhostError } from '../../errors';

/** The syscalls share/pivot-exec.pl makes (perl's syscall() needs their numbers), by Node's process.arch. */
const SYSCALLS: Record<string, { pivotRoot: number; umount2: number; mount: number; mknodat: number; sethostname: number }> = {
  x64: { pivotRoot: 155, umount2: 166, mount: 165, mknodat: 259, sethostname: 170 },
  arm64: { pivotRoot: 41, umount2: 39, mount: 40, mknodat: 33, sethostname: 161 },
  riscv64: { pivotRoot: 41, umount2: 39, mount: 40, mknodat: 33, sethostname: 161 },
};

/** "PIVOT_ROOT UMOUNT2 MOUNT MKNODAT SETHOSTNAME", as share/pid1-stage.sh passes them on. */
export function pivotSyscalls(arch: string = process.arch): string {
  const s = SYSCALLS[arch];
  if (!s) throw new SubhostError(`this architecture (${arch}) is not supported: share/pivot-exec.pl needs its pivot_root, umount2, mount, mknodat and sethostname numbers`);
  return `${s.pivotRoot} ${s.umount2} ${s.mount} ${s.mknodat} ${s.sethostname}`;
}
