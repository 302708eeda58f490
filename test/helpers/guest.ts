import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { expect } from 'vitest';
import { capabilitiesInMask } from '../../src/core/guest/capabilities';
import { deviceControl, usesV1Devices } from '../../src/core/cgroups/devices';
import { attachLoop, blockNumbers, detachLoop } from '../../src/host/loop';
import { readMountinfo } from '../../src/host/mountinfo';

/** Helpers for probing a subhost's protections from the host side (test/integration/hardening*). */

/** The host's root disk, or any host disk when / is not on a block device (overlay, 9p). */
export function hostDisk(): { major: number; minor: number } {
  const [major, minor] = readMountinfo().find((m) => m.mountPoint === '/')!.majorMinor.split(':').map(Number);
  if (major !== 0 && existsSync(`/sys/dev/block/${major}:${minor}`)) return { major, minor };
  const name = readdirSync('/sys/block').find((n) => !/^(loop|ram|zram)/.test(n)) ?? 'loop0';
  const [ma, mi] = readFileSync(`/sys/block/${name}/dev`, 'utf8').trim().split(':').map(Number);
  return { major: ma, minor: mi };
}

/** The capabilities in the bounding set of a process (or in a /proc/PID/status text read inside). */
export function capBnd(pid: number | 'self', text = readFileSync(`/proc/${pid}/status`, 'utf8')): string[] {
  return capabilitiesInMask(/^CapBnd:\s*([0-9a-f]+)$/m.exec(text)![1]);
}

/** A disk of the host's that the host reads ("ZZZZ…") and the guest was not given: a loop device of the test's own. */
export async function withHostOnlyDisk(root: string, fn: (d: { major: number; minor: number }) => void): Promise<void> {
  const image = join(root, 'host-only.raw');
  writeFileSync(image, Buffer.alloc(1 << 20, 'Z'));
  const dev = await attachLoop(image);
  try {
    expect(readFileSync(dev).subarray(0, 4).toString()).toBe('ZZZZ');
    fn(blockNumbers(dev)!);
  } finally {
    await detachLoop(dev);
  }
}

/** Which mechanisms restrict a subhost's devices on this host (the program always; v1 where the host has it): the tests say which they exercised. */
export const devicesControl = deviceControl();
export const v1DevicesToo = usesV1Devices(devicesControl);

/** Run a power off from inside only when the shell is in the subhost's own PID namespace. */
export function guardedInGuestPidns(pid1: number, cmd: string): string {
  const guestNs = readlinkSync(`/proc/${pid1}/ns/pid`);
  expect(guestNs).not.toBe(readlinkSync('/proc/self/ns/pid'));
  return `[ "$(readlink /proc/self/ns/pid)" = '${guestNs}' ] || exit 99; ${cmd}`;
}

/** Shared libraries a binary needs, as ldd resolves them on this (same Debian) host. */
export function sharedLibraries(binary: string): string[] {
  const out = execFileSync('ldd', [binary], { encoding: 'utf8', env: { LC_ALL: 'C', PATH: '/usr/bin:/bin' } });
  return [...out.matchAll(/(\/\S+\.so[.\d]*)/g)].map((m) => m[1]);
}

/** The host's dash, with its libraries, as the guest's /bin/sh: busybox sh would run its own mount applet whatever PATH says. */
export function dashAsGuestShell(tree: string): void {
  const dash = existsSync('/usr/bin/dash') ? '/usr/bin/dash' : '/bin/dash';
  for (const lib of sharedLibraries(dash)) {
    mkdirSync(join(tree, dirname(lib)), { recursive: true });
    copyFileSync(lib, join(tree, lib));
  }
  rmSync(join(tree, 'bin/sh'));
  copyFileSync(dash, join(tree, 'bin/sh'));
  chmodSync(join(tree, 'bin/sh'), 0o755);
}
