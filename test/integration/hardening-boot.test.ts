import { existsSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { useBootedSubhost } from '../helpers/booted';
import { cli } from '../helpers/cli';
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
    // A guest whose mount(8) cannot make a bind mount read-only (/sbin comes first in subhost-init's PATH).
    const failing = { mode: 0o755, content: '#!/bin/sh\ncase "$*" in *remount,bind,ro*) echo "mount: not supported" >&2; exit 1 ;; esac\nexec /bin/busybox mount "$@"\n' };
    const sub = await createDiskSubhost(root, testName('f'), { dataDisk: false, files: { 'sbin/mount': failing }, prepare: dashAsGuestShell });
    name = sub.name;
    const r = cli(['boot', sub.name], { root });
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    expect(r.stderr).toMatch(/^subhost: start subhost-init as PID 1 .*: PID 1 did not start: it ended before it was ready; console: .*subhost-init: cannot make \/proc\/sys read-only/);
    expect(leftoversOf(sub.name)).toEqual([]);
    expect(statusOf(root, sub.name).state).toBe('stopped');
  });
});
