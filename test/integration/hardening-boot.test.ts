import { existsSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { PROTECTED_PATHS } from '../../src/core/guest/hardening';
import { useBootedSubhost } from '../helpers/booted';
import { cli } from '../helpers/cli';
import { denyingMount, MS } from '../helpers/deny-mount';
import { makeTestRoot, removeTestRoot, testName, waitFor } from '../helpers/env';
import { createDiskSubhost } from '../helpers/fixtures';
import { capBnd, dashAsGuestShell, guardedInGuestPidns } from '../helpers/guest';
import { leftoversOf } from '../helpers/leaks';
import { statusOf } from '../helpers/subhost';

// The boot-time side of the hardening: TUN=yes, reboot(2) kept, and a protection that cannot be applied.

describe('TUN=yes and reboot(2)', () => {
  const { sh, status, sub } = useBootedSubhost('t', { subhost: () => ({ dataDisk: false, extraConfig: 'TUN=yes' }) });

  it('gives the guest /dev/net/tun, and it opens', () => {
    expect(sh('stat -c "%F %t:%T" /dev/net/tun').stdout.trim()).toBe('character special file a:c8');
    const r = sh('exec 3<>/dev/net/tun && echo opened');
    expect(r.stdout).toBe('opened\n');
    const s = status();
    expect(s.hardening.devices.allowed.map((a: { what: string }) => a.what)).toEqual(['null', 'zero', 'full', 'random', 'urandom', 'tty', 'ptmx', 'pts', 'net/tun', 'vda1']);
  });

  it('keeps sys_boot: reboot(2) (poweroff -f) ends only its own PID namespace', async () => {
    const s = status();
    expect(capBnd(s.pid1)).toContain('sys_boot');
    sh(guardedInGuestPidns(s.pid1, 'poweroff -f'));
    await waitFor('the guest to release everything', () => !existsSync(`/proc/${s.pid1}`) && leftoversOf(sub().name).length === 0, 15_000);
    expect(status().state).toBe('stopped');
  });
});

describe('a protection that cannot be applied', () => {
  const root = makeTestRoot();
  let name = '';
  afterAll(() => {
    if (name) cli(['stop', name], { root });
    removeTestRoot(root);
  });

  it('stops the boot with the reason, and leaves nothing behind', async () => {
    // The kernel refuses every read-only bind remount (a seccomp filter on the boot and all it starts).
    const sub = await createDiskSubhost(root, testName('f'), { dataDisk: false });
    name = sub.name;
    const r = cli(['boot', sub.name], { root, via: denyingMount(MS.REMOUNT | MS.BIND | MS.RDONLY) });
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    expect(r.stderr).toMatch(/^subhost: start subhost-init as PID 1 .*: PID 1 did not start: it ended before it was ready; console: .*subhost-init: cannot make \/proc\/sys read-only/);
    expect(leftoversOf(sub.name)).toEqual([]);
    expect(statusOf(root, sub.name).state).toBe('stopped');
  });
});

// The guest's filesystems and protections are made by PID 1 itself (native/bpf/pivot-exec.c, guest-fs.c) before the
// guest's /bin/sh runs: no program of the guest runs before "ready", whatever its mount(8) does.
describe('the set-up of PID 1', () => {
  // Each of these logs its run to /ran-before-ready; mount(8) cannot make a bind mount read-only.
  // With dash as /bin/sh, /sbin (first in subhost-init's PATH) is where a command is looked up.
  const logging = (fail: string) => ({ mode: 0o755, content: `#!/bin/sh\necho "\${0##*/} $*" >>/ran-before-ready\ncase "$*" in ${fail}) echo "not supported" >&2; exit 1 ;; esac\nexec /bin/busybox "\${0##*/}" "$@"\n` });
  const files = Object.fromEntries(['mount', 'mknod', 'ln', 'mkdir', 'mkfifo', 'hostname'].map((c) => [`sbin/${c}`, logging(c === 'mount' ? '*remount,bind,ro*' : '--never--')]));
  // An rcS that runs none of these commands, and notes its PID in the guest's PID namespace.
  files['etc/init.d/rcS'] = { mode: 0o755, content: '#!/bin/sh\necho $$ >/run/rcS.pid\n' };
  const { sh, status } = useBootedSubhost('s', { subhost: () => ({ dataDisk: false, files, prepare: dashAsGuestShell }) });

  it('runs no program of the guest before "ready": a guest whose mount(8) fails boots, with every protection', () => {
    expect(sh('cat /ran-before-ready 2>/dev/null; echo end').stdout).toBe('end\n');
    // Nothing was forked in the namespace before rcS, PID 1's first child (a mount, mknod or ln of
    // the guest's sh was a process each: rcS was PID 40 or so).
    expect(sh('cat /run/rcS.pid').stdout).toBe('2\n');
    const s = status();
    expect(s.hardening.problems).toEqual([]);
    const state = Object.fromEntries(s.hardening.paths.map((p: { path: string; state: string }) => [p.path, p.state]));
    for (const p of PROTECTED_PATHS) expect([p.how, 'absent']).toContain(state[p.path]);
    expect(state['/proc/sys']).toBe('read-only');
  });

  it('gives PID 1 only its own environment, and SIGINT and SIGQUIT at their defaults', () => {
    const pid1 = status().pid1;
    const environ = readFileSync(`/proc/${pid1}/environ`, 'latin1').split('\0').filter(Boolean);
    expect(environ.map((e) => e.slice(0, e.indexOf('=')))).toEqual(['container', 'HOME', 'TERM', 'SUBHOST_INIT_GRACE', 'SUBHOST_INIT_TEXT']);
    expect(environ.slice(0, 4)).toEqual(['container=subhost', 'HOME=/', 'TERM=linux', 'SUBHOST_INIT_GRACE=10']);
    const mask = (pid: number, field: string) => BigInt(`0x${new RegExp(`^${field}:\\s*([0-9a-f]+)$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]}`);
    const INT = 1n << 1n;
    const QUIT = 1n << 2n;
    // pivot-exec resets them whatever it was started with (pivot-exec.test starts it with both ignored).
    expect(mask(pid1, 'SigIgn') & (INT | QUIT)).toBe(0n);
    // subhost-init's trap: SIGINT powers off.
    expect(mask(pid1, 'SigCgt') & INT).toBe(INT);
  });
});
