import { existsSync } from 'node:fs';
import { readFileOr } from '../../host/read-file';
import { join } from 'node:path';
import { readMountinfo, type MountEntry } from '../../host/mountinfo';
import { capabilitiesInMask, DROPPED_CAPABILITIES } from '../guest/capabilities';
import { parseDevicesList, type DeviceControl, usesV1Devices } from '../cgroups/devices';
import { PROTECTED_PATHS, type PathProtection, type ProtectedPath } from '../guest/hardening';
import type { StateRecord } from '../state/records';
import type { DevicesResult, DeviceProgramRecord } from '../steps/devices';
import { devicePrograms } from '../cgroups/device-bpf';

export interface PathState {
  path: string;
  want: PathProtection;
  /** What PID 1's mountinfo shows; `absent`: this kernel has no such file; `unprotected`: a mask is missing. */
  state: PathProtection | 'absent' | 'unprotected';
}

/** The hardening in force in a running subhost, read from PID 1 (`status`, README). */
export interface HardeningInfo {
  /** Capabilities of DROPPED_CAPABILITIES missing from PID 1's bounding set. */
  capabilitiesDropped: string[];
  /** Those still in it (a problem). */
  capabilitiesNotDropped: string[];
  sys: 'read-only' | 'writable';
  paths: PathState[];
  devices: {
    control: DeviceControl;
    /** Every mechanism subhost set up is in force: the program attached and run for the guest, v1's list not "a *:* rwm". */
    restricted: boolean;
    allowed: { what: string; rule: string }[];
    /** The v1 devices cgroup the guest is in (hybrid hosts). */
    cgroup?: string;
    /** The device eBPF program: its id, where it is attached, the guest's cgroup, and whether the kernel runs it for it. */
    program?: DeviceProgramRecord & { inForce: boolean };
  };
  /** Everything above that is not as subhost set it up; empty when all is in force. */
  problems: string[];
}

export interface HardeningInput {
  /** CapBnd of PID 1, hex. */
  capBnd?: string;
  /** PID 1's mountinfo (paths as the guest sees them). */
  mounts: MountEntry[];
  devices?: DevicesResult;
  /** devices.list of the devices cgroup the guest is in. */
  devicesList?: string;
  /** Device programs attached to the program's cgroup, and those in force for the guest's (undefined: unreadable). */
  programs?: { attached: number[]; effective: number[] };
  /** Whether this kernel has the path at all (the host's own /proc and /sys tell). */
  kernelHas: (path: string) => boolean;
}

/** The mount a path is on: the deepest mount point above it, the topmost one there (mountinfo lists a mount after the one it covers). */
function mountOf(mounts: MountEntry[], path: string): MountEntry | undefined {
  const above = mounts.filter((m) => m.mountPoint === path || path.startsWith(m.mountPoint === '/' ? '/' : `${m.mountPoint}/`));
  const deepest = Math.max(...above.map((m) => m.mountPoint.length));
  return above.filter((m) => m.mountPoint.length === deepest).pop();
}

function pathState(p: ProtectedPath, mounts: MountEntry[], kernelHas: (path: string) => boolean): PathState['state'] {
  const m = mountOf(mounts, p.path);
  if (p.how === 'masked') {
    if (m?.mountPoint === p.path && m.fsType !== 'proc' && m.fsType !== 'sysfs') return 'masked';
    return kernelHas(p.path) ? 'unprotected' : 'absent';
  }
  if (!kernelHas(p.path)) return 'absent';
  return m?.options.includes('ro') ? 'read-only' : 'writable';
}

/** The device policy in force: the recorded program still attached and run for the guest, and v1's list where used. */
function devicesFrom(input: HardeningInput, problems: string[]): HardeningInfo['devices'] {
  const d = input.devices;
  if (!d?.program) {
    problems.push('no device eBPF program was set up (booted by an older subhost): devices are not restricted');
    return { control: 'none', restricted: false, allowed: [] };
  }
  const before = problems.length;
  const p = d.program;
  const seen = input.programs;
  const inForce = seen !== undefined && seen.attached.includes(p.id) && seen.effective.includes(p.id);
  if (!seen) problems.push(`the device eBPF programs of ${p.attachedTo} could not be read`);
  else if (!seen.attached.includes(p.id)) problems.push(`device eBPF program ${p.id} is no longer attached to ${p.attachedTo}`);
  else if (!seen.effective.includes(p.id)) problems.push(`device eBPF program ${p.id} does not run for ${p.guestCgroup}`);
  if (usesV1Devices(d.control)) {
    const list = input.devicesList === undefined ? undefined : parseDevicesList(input.devicesList);
    if (!list) problems.push(`devices.list of ${d.cgroup} could not be read`);
    else if (list.all) problems.push(`${d.cgroup} allows every device`);
    else for (const extra of list.rules.filter((r) => !(d.allowed ?? []).some((a) => a.rule === r))) problems.push(`${d.cgroup} also allows ${extra}`);
  }
  const restricted = problems.length === before;
  return { control: d.control, restricted, allowed: d.allowed ?? [], ...(d.cgroup ? { cgroup: d.cgroup } : {}), program: { ...p, inForce } };
}

/** Pure: what is in force, from what was read of PID 1, its record and its cgroup. */
export function hardeningFrom(input: HardeningInput): HardeningInfo {
  const problems: string[] = [];
  const bounding = input.capBnd === undefined ? undefined : capabilitiesInMask(input.capBnd);
  const capabilitiesDropped = bounding ? DROPPED_CAPABILITIES.map((c) => c.cap).filter((c) => !bounding.includes(c)) : [];
  const capabilitiesNotDropped = bounding ? DROPPED_CAPABILITIES.map((c) => c.cap).filter((c) => bounding.includes(c)) : [];
  if (!bounding) problems.push('the capability bounding set of PID 1 could not be read');
  for (const c of capabilitiesNotDropped) problems.push(`capability ${c} is in the bounding set`);

  const sysMount = mountOf(input.mounts, '/sys');
  const sys = sysMount?.options.includes('ro') ? 'read-only' : 'writable';
  if (sys !== 'read-only') problems.push('/sys is writable');

  const paths = PROTECTED_PATHS.map((p) => ({ path: p.path, want: p.how, state: pathState(p, input.mounts, input.kernelHas) }));
  for (const p of paths) if (p.state !== p.want && p.state !== 'absent') problems.push(`${p.path} is ${p.state}, not ${p.want}`);

  const devices = devicesFrom(input, problems);
  return { capabilitiesDropped, capabilitiesNotDropped, sys, paths, devices, problems };
}


/** Read what is in force in NAME now: PID 1's bounding set and mounts, its devices cgroup (undefined if PID 1 just ended). */
export function inspectHardening(rec: StateRecord, pid1: number): HardeningInfo | undefined {
  const capBnd = /^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileOr(`/proc/${pid1}/status`) ?? '')?.[1];
  let mounts: MountEntry[];
  try {
    mounts = readMountinfo(pid1);
  } catch {
    // Gone meanwhile: nothing to report rather than every protection "not in force".
    return undefined;
  }
  const devices = rec.applied.find((a) => a.kind === 'devices')?.result as DevicesResult | null | undefined;
  const devicesList = devices?.cgroup ? readFileOr(join(devices.cgroup, 'devices.list')) : undefined;
  return hardeningFrom({ capBnd, mounts, devices: devices ?? undefined, devicesList, programs: devices?.program && programsOf(devices.program), kernelHas: existsSync });
}

function programsOf(p: DeviceProgramRecord): HardeningInput['programs'] {
  try {
    return { attached: devicePrograms(p.attachedTo, false), effective: devicePrograms(p.guestCgroup, true) };
  } catch {
    return undefined;
  }
}
