import type { DeviceRule } from './devices';
import { andImm, exit, jneImm, loadWord, movImm, type Insn } from '../../host/bpf-insn';

/** struct bpf_cgroup_dev_ctx: access_type (access << 16 | device type), major, minor; all u32. */
export const CTX = { accessType: 0, major: 4, minor: 8 } as const;
/** BPF_DEVCG_DEV_* (linux/bpf.h). */
export const DEV_TYPE = { b: 1, c: 2 } as const;

// Registers: r1 the context (given), r2 device type, r4 major, r5 minor, r0 the verdict.
const R0 = 0;
const R1 = 1;
const TYPE = 2;
const MAJOR = 4;
const MINOR = 5;

export type DeviceMatch = Pick<DeviceRule, 'type' | 'major' | 'minor'>;

/** One rule: its device (every minor with '*') is allowed for mknod, read and write, as v1's "rwm". */
function ruleBlock(r: DeviceMatch): Insn[] {
  const checks: [number, number][] = [[TYPE, DEV_TYPE[r.type]], [MAJOR, r.major]];
  if (r.minor !== '*') checks.push([MINOR, r.minor]);
  // A failed check skips the checks after it and the block's two "allow" instructions.
  return [...checks.map(([reg, value], i) => jneImm(reg, value, checks.length - 1 - i + 2)), movImm(R0, 1), exit()];
}

/**
 * The cgroup device program for a list of rules: 1 (allow) for a device a rule names, 0 (the
 * kernel's EPERM) for every other, whatever the access (open for read or write, or mknod). The
 * same policy as the v1 rules (src/core/steps/devices.ts), so both allow exactly the same devices.
 */
export function deviceProgram(rules: DeviceMatch[]): Insn[] {
  return [
    loadWord(TYPE, R1, CTX.accessType),
    andImm(TYPE, 0xffff),
    loadWord(MAJOR, R1, CTX.major),
    loadWord(MINOR, R1, CTX.minor),
    ...rules.flatMap(ruleBlock),
    movImm(R0, 0),
    exit(),
  ];
}
