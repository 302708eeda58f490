import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pivotExecFile } from '../../src/host/bpf-addon';

const PIVOT_EXEC = pivotExecFile();
const dir = mkdtempSync(join(tmpdir(), 'subhost-pivot-exec-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** pivot-exec run by itself, in a child of ours (its capability drops are that child's). */
function pivotExec(args: string[], initEnv = 'container=subhost') {
  return spawnSync(PIVOT_EXEC, args, { encoding: 'utf8', env: { SUBHOST_INIT_ENV: initEnv, LC_ALL: 'C' } });
}

/** Whether an ELF file asks for a program interpreter (PT_INTERP): a dynamically linked one. */
function hasInterpreter(file: string): boolean {
  const elf = readFileSync(file);
  expect(elf.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
  expect(elf[4]).toBe(2); // 64-bit
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const phentsize = elf.readUInt16LE(0x36);
  const phnum = elf.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) if (elf.readUInt32LE(phoff + i * phentsize) === 3) return true;
  return false;
}

// PID 1's way into the guest (native/bpf/pivot-exec.c): what it refuses before it changes anything.
// What it makes inside a guest is tested by booting (hardening-boot, guest-power, start-session, devices).
describe('pivot-exec', () => {
  it('is linked statically: after the pivot no loader or library of the host is within reach', () => {
    expect(hasInterpreter(PIVOT_EXEC)).toBe(false);
    // The check can fail: node's own binary asks for ld-linux.
    expect(hasInterpreter(process.execPath)).toBe(true);
  });

  it('refuses a wrong number of arguments and capabilities that are not numbers, with one line and exit 1', () => {
    for (const args of [[], ['/x', '/y', '/z'], ['/x', '/y', '/z', '1', 'extra'], ['/x', '/y', '/z', ''], ['/x', '/y', '/z', '1,,2'], ['/x', '/y', '/z', '1,a'], ['/x', '/y', '/z', '1,'], ['/x', '/y', '/z', '1234']]) {
      const r = pivotExec(args);
      expect(r.status, args.join(' ')).toBe(1);
      expect(r.stderr, args.join(' ')).toMatch(/^pivot-exec: usage: ROOT INIT NETNS CAPS.*\n$/);
      expect(r.stdout).toBe('');
    }
  });

  it('stops before the pivot on a network namespace it cannot open, a word of SUBHOST_INIT_ENV that is not NAME=value, or an unreadable subhost-init', () => {
    const root = join(dir, 'root');
    const init = join(dir, 'init');
    writeFileSync(init, 'echo never\n');
    const missing = pivotExec([root, init, join(dir, 'no-netns'), '1']);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toBe(`pivot-exec: cannot open ${join(dir, 'no-netns')}: No such file or directory\n`);
    // Our own network namespace: joining it changes nothing.
    const ownNet = '/proc/self/ns/net';
    for (const word of ['1A=x', 'A-B=x', 'NOEQUALS', '=x']) {
      const r = pivotExec([root, init, ownNet, '1'], `container=subhost ${word} B=y`);
      expect(r.status, word).toBe(1);
      expect(r.stderr, word).toBe(`pivot-exec: not NAME=value in SUBHOST_INIT_ENV: ${word}\n`);
    }
    const unreadable = pivotExec([root, join(dir, 'no-init'), ownNet, '1']);
    expect(unreadable.stderr).toBe(`pivot-exec: cannot read ${join(dir, 'no-init')}: No such file or directory\n`);
    const noRoot = pivotExec([root, init, ownNet, '1']);
    expect(noRoot.stderr).toBe(`pivot-exec: cannot enter ${root}: No such file or directory\n`);
    expect(noRoot.status).toBe(1);
  });
});
