import { findV1Hierarchies, type V1Hierarchy } from '../../host/cgroup-v1';
import { bpfDevicesOnly } from '../../test-hooks';

/**
 * Which device nodes a subhost may create and open: the standard character devices, its own
 * declared disks, and /dev/net/tun when TUN=yes; nothing else, in particular none of the host's
 * disks (a guest with CAP_SYS_ADMIN can mount devtmpfs and find every host node there).
 */
export interface DeviceRule {
  type: 'c' | 'b';
  major: number;
  /** '*' for every minor (the pty slaves). */
  minor: number | '*';
  /** What it is, for status: null, pts, vda1, net/tun. */
  what: string;
}

/** The nodes subhost-init makes (its first part, pivot-exec: native/bpf/guest-fs.c), and the pty slaves of its devpts. */
export const STANDARD_DEVICES: DeviceRule[] = [
  { type: 'c', major: 1, minor: 3, what: 'null' },
  { type: 'c', major: 1, minor: 5, what: 'zero' },
  { type: 'c', major: 1, minor: 7, what: 'full' },
  { type: 'c', major: 1, minor: 8, what: 'random' },
  { type: 'c', major: 1, minor: 9, what: 'urandom' },
  { type: 'c', major: 5, minor: 0, what: 'tty' },
  { type: 'c', major: 5, minor: 2, what: 'ptmx' },
  { type: 'c', major: 136, minor: '*', what: 'pts' },
];

export const TUN_DEVICE: DeviceRule = { type: 'c', major: 10, minor: 200, what: 'net/tun' };

/**
 * How the rules are enforced: a cgroup device eBPF program on the cgroup2 cgroup always (the
 * kernel runs it for the task's cgroup2 cgroup on hybrid hosts too), and the v1 devices
 * controller as well where the host has one. `none` only describes a record of a subhost that
 * an older subhost booted, without the program.
 */
export type DeviceControl = 'bpf' | 'cgroup-v1+bpf' | 'none';

/**
 * Processes of a subhost go one level below the cgroup that holds its rules, in the cgroup2 and
 * the v1 devices hierarchy: the guest (root, with its cgroup namespace rooted in the leaf) cannot
 * reach the program attached above it to detach it, and v1 checks a new devices.allow against
 * the parent, so it can narrow its own rules but never lift them.
 */
export const DEVICES_LEAF = 'guest';

/**
 * The v1 controller where the host has one, beside the program. SUBHOST_TEST_DEVICES=bpf (tests
 * only, src/test-hooks.ts) leaves v1 out, so that the program alone is tested on a hybrid host.
 */
export function deviceControl(v1: V1Hierarchy[] = findV1Hierarchies(), env: NodeJS.ProcessEnv = process.env): DeviceControl {
  const hasV1 = v1.some((h) => h.controllers.includes('devices')) && !bpfDevicesOnly(env);
  return hasV1 ? 'cgroup-v1+bpf' : 'bpf';
}

export const usesV1Devices = (c: DeviceControl): boolean => c === 'cgroup-v1+bpf';

export function deviceRules(disks: { node: string; major: number; minor: number }[], tun: boolean): DeviceRule[] {
  return [...STANDARD_DEVICES, ...(tun ? [TUN_DEVICE] : []), ...disks.map((d): DeviceRule => ({ type: 'b', major: d.major, minor: d.minor, what: d.node }))];
}

/** One line for devices.allow (and as devices.list prints it): "c 1:3 rwm". */
export function v1Rule(r: Pick<DeviceRule, 'type' | 'major' | 'minor'>): string {
  return `${r.type} ${r.major}:${r.minor} rwm`;
}

/** devices.list: "a *:* rwm" means everything is allowed. */
export function parseDevicesList(text: string): { all: boolean; rules: string[] } {
  const rules = text.split('\n').map((l) => l.trim()).filter(Boolean);
  return { all: rules.some((r) => r.startsWith('a ')), rules };
}
