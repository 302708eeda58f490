import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { programLoaded } from '../../src/core/cgroups/device-bpf';
import { findV1Hierarchies } from '../../src/host/cgroup-v1';
import { useBootedSubhost, useDiskSubhost } from '../helpers/booted';
import { cli, ok } from '../helpers/cli';
import { waitFor } from '../helpers/env';
import { withHostOnlyDisk } from '../helpers/guest';
import { leftoversOf } from '../helpers/leaks';

// The device eBPF program alone, as on a pure cgroup v2 host, whatever this host is: the tests'
// switch SUBHOST_TEST_DEVICES=bpf leaves out the v1 devices rules where the host has that
// controller (a hybrid host), so nothing but the program can deny here. hardening.test.ts covers
// the host's own combination.
const v1Devices = findV1Hierarchies().find((h) => h.controllers.includes('devices'));
const saved = process.env.SUBHOST_TEST_DEVICES;
beforeAll(() => {
  process.env.SUBHOST_TEST_DEVICES = 'bpf';
  console.log(`devices path exercised: the eBPF program alone (${v1Devices ? 'hybrid host: its v1 devices rules left out' : 'no v1 devices controller here'})`);
});
afterAll(() => {
  if (saved === undefined) delete process.env.SUBHOST_TEST_DEVICES;
  else process.env.SUBHOST_TEST_DEVICES = saved;
});

/** mknod and read of a device inside: "mknod=0|1" and "dd=0|1" lines, and what dd read. */
const mknodAndRead = (type: 'b' | 'c', major: number, minor: number) =>
  `mknod /dev/probe ${type} ${major} ${minor}; echo "mknod=$?"; dd if=/dev/probe bs=4 count=1; s=$?; echo; echo "dd=$s"; rm -f /dev/probe`;

describe('the device eBPF program (boot, enter)', { tags: ['kernel'] }, () => {
  const { root, sh, status, sub } = useBootedSubhost('d');
  let s: ReturnType<typeof status>;
  beforeAll(() => {
    s = status();
  });

  it('is the only mechanism in force: status names it, and the v1 devices cgroup (if any) allows all', () => {
    expect(s.hardening.problems).toEqual([]);
    expect(s.hardening.devices).toMatchObject({ control: 'bpf', restricted: true, program: { inForce: true, attachedTo: s.cgroup, guestCgroup: `${s.cgroup}/guest` } });
    expect(s.hardening.devices.cgroup).toBeUndefined();
    if (v1Devices) expect(readFileSync(join(v1Devices.mountPoint, 'subhost', sub().name, 'devices.list'), 'utf8')).toBe('a *:* rwm\n');
    expect(ok(['status', sub().name], { root }).stdout).toMatch(
      new RegExp(`^ {2}devices {5}only null zero full random urandom tty ptmx pts vda1 vdb1 \\(device eBPF program ${s.hardening.devices.program.id} on ${s.cgroup}\\)$`, 'm'),
    );
  });

  it("denies mknod and open of a host disk, /dev/mem and tun; allows the standard nodes", async () => {
    await withHostOnlyDisk(root, (d) => {
      const r = sh(mknodAndRead('b', d.major, d.minor));
      expect(r.stdout).toMatch(/^mknod=1$/m);
      expect(r.stdout).toMatch(/^dd=1$/m);
      expect(r.stdout).not.toContain('ZZZZ');
      expect(r.stderr).toContain('Operation not permitted');
    });
    for (const [t, ma, mi] of [['c', 1, 1], ['c', 10, 200]] as const) expect(sh(mknodAndRead(t, ma, mi)).stdout, `${t} ${ma}:${mi}`).toMatch(/^mknod=1$/m);
    const allowed = sh('for n in null zero full random urandom tty ptmx; do test -c /dev/$n || echo "missing $n"; done; head -c 4 /dev/zero | wc -c; echo x > /dev/null && echo null-ok');
    expect(allowed.stdout).toBe('4\nnull-ok\n');
  });

  it("denies a host disk found in a devtmpfs it mounts", async () => {
    await withHostOnlyDisk(root, (d) => {
      const hex = `${d.major.toString(16)}:${d.minor.toString(16)}`;
      const r = sh(`mkdir -p /mnt/dt && mount -t devtmpfs devtmpfs /mnt/dt || exit 90
        node=; for f in /mnt/dt/*; do [ -b "$f" ] && [ "$(stat -c %t:%T "$f")" = "${hex}" ] && node=$f; done
        echo "node=$node"; dd if="$node" bs=4 count=1; s=$?; echo; echo "dd=$s"; umount /mnt/dt`);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^node=\/mnt\/dt\/\S+$/m);
      expect(r.stdout).toMatch(/^dd=1$/m);
      expect(r.stdout).not.toContain('ZZZZ');
    });
  });

  it('lets the guest use its own disks: read /dev/vda1, mount /dev/vdb1, mknod their numbers again', () => {
    const vda1 = s.disks.find((x: { node: string }) => x.node === 'vda1');
    const r = sh(`dd if=/dev/vda1 bs=1k count=1 2>/dev/null | wc -c; ${mknodAndRead('b', vda1.major, vda1.minor)}; mkdir -p /mnt/v && mount /dev/vdb1 /mnt/v && echo mounted && umount /mnt/v`);
    expect(r.stdout).toMatch(/^1024$/m);
    expect(r.stdout).toMatch(/^mknod=0$/m);
    expect(r.stdout).toMatch(/^dd=0$/m);
    expect(r.stdout).toMatch(/^mounted$/m);
  });

  it('runs an entered shell in the leaf, whose cgroup namespace cannot reach the program above it', () => {
    const r = sh('cat /proc/self/cgroup | grep "^0::"; mkdir -p /mnt/cg && mount -t cgroup2 none /mnt/cg && ls /mnt/cg | grep -c "^guest$"; umount /mnt/cg');
    expect(r.stdout).toBe('0::/\n0\n');
    // From the host: the shell's cgroup2 cgroup is the leaf the program runs for.
    expect(readFileSync(`/proc/${s.pid1}/cgroup`, 'utf8')).toMatch(new RegExp(`^0::/subhost/${sub().name}/guest$`, 'm'));
  });

  it('goes with the cgroup at stop: nothing pinned, nothing left', async () => {
    const id = s.hardening.devices.program.id;
    expect(programLoaded(id)).toBe(true);
    ok(['stop', sub().name], { root });
    // The kernel frees a cgroup's programs from a work queue after the rmdir.
    await waitFor(`device eBPF program ${id} to be freed`, () => !programLoaded(id), 10_000);
    expect(leftoversOf(sub().name)).toEqual([]);
  });
});

describe('the device eBPF program (start, TUN=yes)', { tags: ['kernel'] }, () => {
  const u = useDiskSubhost('u', { subhost: () => ({ dataDisk: false, extraConfig: 'TUN=yes' }) });
  const { root } = u;

  it("covers start's shell: tun opens with TUN=yes, a host disk still does not", async () => {
    const sub = u.sub();
    await withHostOnlyDisk(root, (d) => {
      const r = cli(['start', sub.name], { root, input: `grep "^0::" /proc/self/cgroup; exec 3<>/dev/net/tun && echo tun-opened; ${mknodAndRead('b', d.major, d.minor)}\n` });
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^0::\/$/m);
      expect(r.stdout).toMatch(/^tun-opened$/m);
      expect(r.stdout).toMatch(/^mknod=1$/m);
      expect(r.stdout).toMatch(/^dd=1$/m);
      expect(r.stdout).not.toContain('ZZZZ');
    });
    ok(['stop', sub.name], { root });
    expect(leftoversOf(sub.name)).toEqual([]);
  });
});
