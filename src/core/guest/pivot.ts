import { SubhostError } from '../../errors';

/** pivot_root(2) and umount2(2) numbers for share/pivot-exec.pl, by Node's process.arch. */
const SYSCALLS: Record<string, { pivotRoot: number; umount2: number }> = {
  x64: { pivotRoot: 155, umount2: 166 },
  arm64: { pivotRoot: 41, umount2: 39 },
  riscv64: { pivotRoot: 41, umount2: 39 },
};

/** "PIVOT_ROOT UMOUNT2", as share/pid1-stage.sh passes them on. */
export function pivotSyscalls(arch: string = process.arch): string {
  const s = SYSCALLS[arch];
  if (!s) throw new SubhostError(`this architecture (${arch}) is not supported: share/pivot-exec.pl needs its pivot_root and umount2 numbers`);
  return `${s.pivotRoot} ${s.umount2}`;
}
