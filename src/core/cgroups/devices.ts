import { findV1Hierarchies, type V1Hierarchy } from '../../host/cgroup-v1';

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

/** The nodes subhost-init makes (share/subhost-init), and the pty slaves of its devpts. */
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

/** How the host lets subhost enforce the rules. */
export type DeviceControl = 'cgroup-v1' | 'none';

/** Why devices are open where there is no v1 devices controller; said by boot, status and the README. */
export const DEVICE_GAP_REASON = 'pure cgroup v2 host: needs a device eBPF program, which subhost does not load';
/** The warning of boot (and in status): never a silent gap. */
export const DEVICE_GAP = `block devices: not restricted (${DEVICE_GAP_REASON})`;

/**
 * Processes of a subhost go one level below the cgroup that holds its rules in the devices
 * hierarchy: v1 checks a new devices.allow against the parent, so the guest (root, with its
 * cgroup namespace rooted here) can narrow its own rules but never lift them.
 */
export const DEVICES_LEAF = 'guest';

export function deviceControl(v1: V1Hierarchy[] = findV1Hierarchies()): DeviceControl {
  return v1.some((h) => h.controllers.includes('devices')) ? 'cgroup-v1' : 'none';
}

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
