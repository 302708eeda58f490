import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import type { RootFile } from '../../src/core/image/busybox-root';

/** Where scripts/setup.sh test unpacks Debian's sysvinit-core (not installed on the host). */
export const SYSVINIT_DIR = '/var/cache/subhost-test/sysvinit-core';
const TOOLS = ['halt', 'poweroff', 'reboot', 'shutdown', 'init', 'telinit', 'runlevel'];

/** Shared libraries a binary needs, as ldd resolves them on this (same Debian) host. */
function librariesOf(binary: string): string[] {
  const out = execFileSync('ldd', [binary], { encoding: 'utf8', env: { LC_ALL: 'C', PATH: '/usr/bin:/bin' } });
  return [...out.matchAll(/(\/\S+\.so[.\d]*)/g)].map((m) => m[1]);
}

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
    for (const lib of librariesOf(path)) libs.add(lib);
  }
  for (const lib of libs) files[lib.slice(1)] = { content: readFileSync(realpathSync(lib)), mode: 0o755 };
  return files;
}
