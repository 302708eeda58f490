import { existsSync, readFileSync, realpathSync } from 'node:fs';
import type { RootFile } from '../fixtures/image/busybox-root';
import { sharedLibraries } from './guest';

/** Where scripts/setup.sh test unpacks Debian's sysvinit-core (not installed on the host). */
const SYSVINIT_DIR = '/var/cache/subhost-test/sysvinit-core';
const TOOLS = ['halt', 'poweroff', 'reboot', 'shutdown', 'init', 'telinit', 'runlevel'];

/**
 * The guest files that put sysvinit's real halt/poweroff/reboot/shutdown/telinit in /sbin of a
 * busybox guest, with the shared libraries they load, so the tests run the guest's own tools.
 */
export function sysvinitGuestFiles(): Record<string, RootFile> {
  if (!existsSync(`${SYSVINIT_DIR}/sbin/shutdown`)) throw new Error(`${SYSVINIT_DIR} is missing: run scripts/setup.sh test (it unpacks sysvinit-core there)`);
  const files: Record<string, RootFile> = {};
  const libs = new Set<string>();
  for (const tool of TOOLS) {
    const path = realpathSync(`${SYSVINIT_DIR}/sbin/${tool}`);
    files[`sbin/${tool}`] = { content: readFileSync(path), mode: 0o755 };
    for (const lib of sharedLibraries(path)) libs.add(lib);
  }
  for (const lib of libs) files[lib.slice(1)] = { content: readFileSync(realpathSync(lib)), mode: 0o755 };
  return files;
}
