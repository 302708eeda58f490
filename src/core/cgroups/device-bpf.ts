import { closeSync } from 'node:fs';
import { SubhostError } from '../../errors';
import { deviceProgram, type DeviceMatch } from './device-program';
import { encode } from '../../host/bpf-insn';
import { bpfAddon } from '../../host/bpf-addon';

/** How the program is named in the kernel (bpftool prog shows it): 15 characters at most. */
export const PROGRAM_NAME = 'subhost_devices';
/** The program calls no kernel helper, so no GPL-only one: the license is the project's own. */
const LICENSE = 'MIT';

export interface AttachedProgram {
  id: number;
  /** The kernel's hash of the instructions. */
  tag: string;
}

function because(what: string, err: unknown): SubhostError {
  return new SubhostError(`${what}: ${(err as Error).message.trim()}`);
}

/**
 * Load the device program for these rules and attach it to the cgroup2 directory. With
 * BPF_F_ALLOW_MULTI a program attached below it runs as well and both must allow: a guest in a
 * child cgroup can narrow the policy, never lift it. Our fd is closed here: the attachment keeps
 * the program, and it goes away with the cgroup (nothing is pinned).
 */
export function attachDevicePolicy(cgroupDir: string, rules: DeviceMatch[]): AttachedProgram {
  const bpf = bpfAddon();
  let fd: number;
  try {
    fd = bpf.loadDeviceProgram(encode(deviceProgram(rules)), PROGRAM_NAME, LICENSE);
  } catch (err) {
    throw because('loading the device eBPF program', err);
  }
  try {
    const info = bpf.programInfo(fd)!;
    bpf.attachDeviceProgram(cgroupDir, fd, bpf.flags.ALLOW_MULTI);
    return { id: info.id, tag: info.tag };
  } catch (err) {
    throw because(`attaching the device eBPF program to ${cgroupDir}`, err);
  } finally {
    closeSync(fd);
  }
}

/** Ids of the device programs attached to this cgroup itself, or (effective) those that run for its processes. */
export function devicePrograms(cgroupDir: string, effective: boolean): number[] {
  try {
    return bpfAddon().queryDevicePrograms(cgroupDir, effective).ids;
  } catch (err) {
    throw because(`reading the device eBPF programs of ${cgroupDir}`, err);
  }
}

/** Whether the kernel still has this program (it goes some time after its cgroup is removed). */
export function programLoaded(id: number): boolean {
  return bpfAddon().programInfo({ id }) !== null;
}
