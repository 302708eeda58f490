import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { installBusybox } from '../../src/bootstrap/busybox-root';
import { nativeProgram } from '../../src/host/bpf-addon';

const PIVOT_EXEC = nativeProgram('pivot-exec');
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

  it('pivots into the root, detaches the host\'s, makes every protection it is given (600 here), and runs the guest\'s sh on the text with SUBHOST_INIT_ENV alone', async () => {
    const root = join(dir, 'guest');
    mkdirSync(root);
    await installBusybox(root);
    const init = join(dir, 'init.sh');
    writeFileSync(init, 'echo "env: $(env | sort | tr "\\n" " ")"; echo "binds: $(grep -c " /proc/version " /proc/self/mountinfo)"; echo "host: $(hostname)"; echo "dev: $(ls /dev | tr "\\n" " ")"; echo "init: $(cat /proc/1/comm)"; echo "ignored: $(sed -n "s/^SigIgn:[[:space:]]*//p" /proc/1/status)"; [ -d ' + dir + ' ] && echo "the host is visible"; exit 0\n');
    const masked = Array(600).fill('/proc/version').join(',');
    const initEnv = `container=subhost A=1 A=2 SUBHOST_INIT_HOSTNAME=pxguest SUBHOST_INIT_MASKED=${masked} SUBHOST_INIT_READONLY=/proc/sys SUBHOST_INIT_DEVICES=vdz1:7:250,bad`;
    // Its own mount, PID and UTS namespaces (as the supervisor's stage makes them by unshare); the root a mount point there;
    // SIGINT and SIGQUIT ignored on the way in, as a shell's background job has them.
    const r = spawnSync('unshare', ['--mount', '--pid', '--fork', '--uts', '--ipc', '--propagation', 'private', '--', 'sh', '-c', 'mount --bind "$1" "$1" && trap "" INT QUIT && exec "$2" "$1" "$3" /proc/self/ns/net 16', 'stage', root, PIVOT_EXEC, init], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, SUBHOST_INIT_ENV: initEnv, LC_ALL: 'C', LEAKED: 'x' },
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const line = (what: string) => r.stdout.split('\n').find((l) => l.startsWith(`${what}: `))?.slice(what.length + 2);
    const env = line('env')!.trim().split(' ');
    // The last word of a name wins; nothing of ours (our PATH, LC_ALL, LEAKED, SUBHOST_INIT_*) reaches the guest (busybox's sh sets a PATH of its own).
    expect(env).toEqual(expect.arrayContaining(['A=2', 'container=subhost']));
    expect(env.filter((w) => /^(LC_ALL|LEAKED|SUBHOST_)/.test(w) || w === `PATH=${process.env.PATH}`)).toEqual([]);
    expect(line('binds')).toBe('600');
    expect(line('host')).toBe('pxguest');
    expect(line('dev')!.split(' ')).toEqual(expect.arrayContaining(['null', 'zero', 'full', 'random', 'urandom', 'tty', 'pts', 'shm', 'ptmx', 'console', 'vdz1']));
    // PID 1 of its namespace is the guest's sh, exec'd in pivot-exec's place.
    expect(line('init')).toBe('sh');
    // The guest's sh gets SIGINT (1 << 1) at its default: a shell cannot trap what it was started ignoring
    // (busybox's sh ignores SIGQUIT of its own accord, so only SIGINT tells).
    expect(BigInt(`0x${line('ignored')}`) & 2n).toBe(0n);
    expect(r.stdout).toContain('subhost-init: cannot create /dev/bad: not NODE:MAJOR:MINOR\n');
    expect(r.stdout).not.toContain('the host is visible');
  });
});

