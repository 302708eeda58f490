import { join } from 'node:path';

/** seccomp's AUDIT_ARCH_*, and the numbers of prctl(2) and mount(2), by Node's process.arch. */
const ARCH: Record<string, { audit: string; prctl: number; mount: number }> = {
  x64: { audit: '0xC000003E', prctl: 157, mount: 165 },
  arm64: { audit: '0xC00000B7', prctl: 167, mount: 40 },
  riscv64: { audit: '0xC00000F3', prctl: 167, mount: 40 },
};

export const MS = { RDONLY: 1, REMOUNT: 32, BIND: 4096 } as const;

/** A `via` for cli(): the CLI and all it starts get EPERM from every mount(2) whose flags hold all of mask. */
export function denyingMount(mask: number): string[] {
  const a = ARCH[process.arch];
  return ['perl', join(__dirname, 'deny-mount.pl'), a.audit, String(a.prctl), String(a.mount), String(mask), '--'];
}
