import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, release } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DROPPED_CAPABILITIES, KEPT_CAPABILITIES, capabilitiesInMask } from '../../src/core/guest/capabilities';
import { PROTECTED_PATHS } from '../../src/core/guest/hardening';
import { parseMountinfo, readMountinfo } from '../../src/host/mountinfo';
import { listNetns } from '../../src/host/netns';
import { isAlive, procRef } from '../../src/host/proc';
import { run } from '../../src/host/exec';
import { useBootedSubhost } from '../helpers/booted';
import { ok } from '../helpers/cli';
import { testMac, waitFor } from '../helpers/env';
import type { DiskSubhost } from '../helpers/fixtures';
import { capBnd, devicesControl, guardedInGuestPidns, hostDisk, v1DevicesToo, withHostOnlyDisk } from '../helpers/guest';
import { requireInLane } from '../helpers/lane';
import { leftoversOf } from '../helpers/leaks';

// Every probe runs inside a subhost as its root user, through `subhost enter`. Where this kernel
// lacks the thing a protection guards (no module loading, sysrq, kcore, RTC), the test also checks
// the mechanism (bounding set, mountinfo, devices.list) so that it cannot pass by accident.

/** A module file of this kernel that is not loaded (a CRC library: nothing happens if it ever loaded), if it has any. */
function unloadedModule(): { name: string; path: string } | undefined {
  if (!existsSync('/proc/modules')) return undefined;
  const loaded = readFileSync('/proc/modules', 'utf8');
  const dir = `/lib/modules/${release()}/kernel/lib`;
  return ['crc7', 'crc8', 'crc-itu-t', 'crc4']
    .map((name) => ({ name: name.replace(/-/g, '_'), path: join(dir, `${name}.ko`) }))
    .find((m) => existsSync(m.path) && !new RegExp(`^${m.name} `, 'm').test(loaded));
}

const HTTPD_RC = { mode: 0o755, content: '#!/bin/sh\nhttpd -p 8080 -h /srv/www\n' };
const PAGE = 'hello from a subhost daemon\n';

describe('a subhost cannot harm its host by accident', { tags: ['kernel'] }, () => {
  const b = useBootedSubhost('h', {
    peerCidr: '10.214.6.1/24',
    subhost: (bridge) => ({ bridges: [`${bridge}:${testMac(6)}`], files: { 'etc/rc2.d/S20httpd': HTTPD_RC, 'srv/www/index.html': { content: PAGE } } }),
  });
  const { root, sh, status } = b;
  const bridge = b.bridge!;
  const peer = b.peer!;
  let sub: DiskSubhost;
  beforeAll(() => {
    sub = b.sub();
  });
  const devicesCgroup = () => status().hardening.devices.cgroup as string;

  describe('each of these fails', () => {
    it('loading a kernel module: sys_module is out of the bounding set of PID 1 and of an entered shell', () => {
      const r = sh('echo garbage > /tmp/x.ko; insmod /tmp/x.ko');
      expect(r.code).not.toBe(0);
      const inside = capBnd('self', sh('cat /proc/self/status').stdout);
      const pid1 = capBnd(status().pid1);
      for (const caps of [inside, pid1]) {
        for (const c of DROPPED_CAPABILITIES) expect(caps).not.toContain(c.cap);
        for (const c of KEPT_CAPABILITIES) expect(caps).toContain(c.cap);
      }
      // The effective set of root inside is limited by it too.
      const eff = /^CapEff:\s*([0-9a-f]+)$/m.exec(sh('cat /proc/self/status').stdout)![1];
      expect(capabilitiesInMask(eff)).not.toContain('sys_module');
    });

    it('loading a real module of this kernel, where it has loadable modules', () => {
      const ko = unloadedModule();
      requireInLane('loadable module to try', ko !== undefined);
      if (!ko) {
        // No module to try: the fallback still checks the mechanism, so that it cannot pass by itself.
        expect(capBnd(status().pid1)).not.toContain('sys_module');
        return console.log('hardening: this kernel has no loadable module to try: the bounding set is the check');
      }
      copyFileSync(ko.path, join(sub.dir, 'live/tmp/real.ko'));
      const r = sh('insmod /tmp/real.ko');
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('Operation not permitted');
      expect(readFileSync('/proc/modules', 'utf8')).not.toMatch(new RegExp(`^${ko.name} `, 'm'));
    });

    it('setting the clock (adjtimex, hwclock)', () => {
      // The tick is set to its own value: harmless even if the protection failed.
      const r = sh('t=$(adjtimex | sed -n "s/.*tick: *\\([0-9]*\\).*/\\1/p"); echo "tick=$t"; adjtimex -t "$t"');
      expect(r.stdout).toMatch(/^tick=\d+$/m);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('Operation not permitted');
      expect(sh('hwclock --systohc').code).not.toBe(0);
      expect(capBnd(status().pid1)).not.toContain('sys_time');
      // With the host's real RTC: a node made inside, however far it gets (mknod, open), never sets it.
      const rtc = existsSync('/sys/class/rtc/rtc0/dev') ? readFileSync('/sys/class/rtc/rtc0/dev', 'utf8').trim().split(':') : undefined;
      requireInLane('RTC', rtc !== undefined);
      if (!rtc) return console.log('hardening: this kernel has no RTC: the bounding set is the check');
      const w = sh(`mknod /dev/rtc0 c ${rtc[0]} ${rtc[1]}; hwclock -w -f /dev/rtc0; echo "hwclock=$?"; rm -f /dev/rtc0`);
      expect(w.stdout).toMatch(/^hwclock=[1-9]/m);
      // EPERM from mknod or open where devices are restricted, else the RTC driver's EACCES without sys_time.
      expect(w.stderr).toMatch(/Operation not permitted|RTC_SET_TIME: Permission denied/);
    });

    it('writing a non-net sysctl, while its own net sysctls stay writable', () => {
      const forward = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8');
      const r = sh('sysctl -w vm.swappiness=$(cat /proc/sys/vm/swappiness)');
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('Read-only file system');
      expect(sh('echo 1 > /proc/sys/kernel/domainname').code).not.toBe(0);
      const net = sh('sysctl -w net.ipv4.ip_forward=1 && cat /proc/sys/net/ipv4/ip_forward');
      expect(net.code).toBe(0);
      expect(net.stdout.trim().split('\n').pop()).toBe('1');
      expect(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8')).toBe(forward);
      const mounts = readMountinfo(status().pid1);
      expect(mounts.filter((m) => m.mountPoint === '/proc/sys').pop()!.options).toContain('ro');
      expect(mounts.filter((m) => m.mountPoint === '/proc/sys/net').pop()!.options).toContain('rw');
    });

    it('reading /proc/kcore and the other host-only files: masked where this kernel has them', () => {
      // /proc/kcore, read from the guest's own mount table: a mask over it, or (as on the test
      // machine, whose kernel has none) no such file inside either.
      expect(PROTECTED_PATHS).toContainEqual(expect.objectContaining({ path: '/proc/kcore', how: 'masked' }));
      const inside = parseMountinfo(sh('cat /proc/self/mountinfo').stdout);
      expect(inside.length).toBeGreaterThan(5);
      const kcore = inside.filter((m) => m.mountPoint === '/proc/kcore').pop();
      requireInLane('/proc/kcore', existsSync('/proc/kcore'));
      if (existsSync('/proc/kcore')) {
        expect(kcore?.fsType).toBe('tmpfs');
        expect(sh('cat /proc/kcore | wc -c').stdout.trim()).toBe('0');
      } else {
        expect(kcore).toBeUndefined();
        expect(sh('test -e /proc/kcore').code).not.toBe(0);
      }
      const mounts = readMountinfo(status().pid1);
      let masked = 0;
      for (const p of PROTECTED_PATHS.filter((x) => x.how === 'masked')) {
        const top = mounts.filter((m) => m.mountPoint === p.path).pop();
        if (!existsSync(p.path)) {
          expect(top, p.path).toBeUndefined();
          expect(sh(`test -e ${p.path}`).code, p.path).not.toBe(0);
          continue;
        }
        masked += 1;
        expect(top?.fsType, p.path).toBe('tmpfs');
        expect(sh(`if [ -d ${p.path} ]; then ls -A ${p.path}; else cat ${p.path}; fi | wc -c`).stdout.trim(), p.path).toBe('0');
      }
      // The test machine's kernel has /proc/keys, /proc/timer_list, /proc/acpi and /sys/firmware (with content on the host).
      expect(masked).toBeGreaterThanOrEqual(4);
      expect(readFileSync('/proc/keys', 'utf8').length + readdirSync('/sys/firmware').length).toBeGreaterThan(0);
    });

    it('triggering sysrq: /proc/sysrq-trigger is read-only where this kernel has it', () => {
      requireInLane('/proc/sysrq-trigger', existsSync('/proc/sysrq-trigger'));
      const r = sh('echo h > /proc/sysrq-trigger');
      expect(r.code).not.toBe(0);
      const top = readMountinfo(status().pid1).filter((m) => m.mountPoint === '/proc/sysrq-trigger').pop();
      if (existsSync('/proc/sysrq-trigger')) expect(top!.options).toContain('ro');
      else {
        expect(top).toBeUndefined();
        expect(sh('test -e /proc/sysrq-trigger').code).not.toBe(0);
      }
    });

    it("mknod and open the host's root disk, another host disk, or /dev/mem", async () => {
      await withHostOnlyDisk(root, (other) => {
        for (const d of [hostDisk(), other]) {
          const r = sh(`mknod /dev/hostdisk b ${d.major} ${d.minor}; echo "mknod=$?"; dd if=/dev/hostdisk bs=4 count=1; s=$?; echo; echo "dd=$s"; rm -f /dev/hostdisk`);
          expect(r.stdout).toMatch(/^mknod=1$/m);
          expect(r.stdout).toMatch(/^dd=1$/m);
          expect(r.stdout).not.toContain('ZZZZ');
          expect(r.stderr).toContain('Operation not permitted');
        }
      });
      expect(sh('mknod /dev/mem c 1 1').stderr).toContain('Operation not permitted');
      // The mechanism: the program in force for the guest, and v1's list where the host has it (/dev is a tmpfs without nodev).
      console.log(`devices path exercised: ${devicesControl}`);
      expect(status().hardening.devices.program).toMatchObject({ inForce: true });
      if (v1DevicesToo) {
        const list = readFileSync(join(devicesCgroup(), 'devices.list'), 'utf8');
        expect(list).not.toMatch(/^a /m);
        expect(list).not.toContain(`b ${hostDisk().major}:${hostDisk().minor} `);
      }
      expect(readMountinfo(status().pid1).find((m) => m.mountPoint === '/dev')!.options).not.toContain('nodev');
    });

    it("mounting or reading the host's disks, even when devtmpfs shows their nodes", async () => {
      await withHostOnlyDisk(root, (other) => {
        for (const d of [hostDisk(), other]) {
          const hex = `${d.major.toString(16)}:${d.minor.toString(16)}`;
          const r = sh(`mkdir -p /mnt/dt /mnt/h && mount -t devtmpfs devtmpfs /mnt/dt || exit 90
            node=; for f in /mnt/dt/*; do [ -b "$f" ] && [ "$(stat -c %t:%T "$f")" = "${hex}" ] && node=$f; done
            echo "node=$node"; mount -o ro "$node" /mnt/h; echo "mount=$?"; dd if="$node" bs=4 count=1; s=$?; echo; echo "dd=$s"
            umount /mnt/dt`);
          expect(r.code).toBe(0);
          expect(r.stdout).toMatch(/^node=\/mnt\/dt\/\S+$/m);
          expect(r.stdout).toMatch(/^mount=(1|255)$/m);
          expect(r.stdout).toMatch(/^dd=1$/m);
          expect(r.stdout).not.toContain('ZZZZ');
          expect(r.stderr).toContain('Operation not permitted');
        }
      });
    });

    it('lifting its own device rules, from a devices cgroup it mounts', (ctx) => {
      if (!v1DevicesToo) return ctx.skip(); // no v1 devices controller on this host: test/integration/devices-bpf.test.ts covers the program
      // An entered shell is in the leaf too: the root of its cgroup namespace, not above it.
      expect(sh('grep ":devices:" /proc/self/cgroup').stdout.trim()).toMatch(/:devices:\/$/);
      const r = sh('mkdir -p /mnt/cg && mount -t cgroup -o devices devices /mnt/cg || exit 90; cat /mnt/cg/devices.list | wc -l; echo a > /mnt/cg/devices.allow; echo "allow=$?"; umount /mnt/cg');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^allow=1$/m);
      expect(readFileSync(join(devicesCgroup(), 'devices.list'), 'utf8')).not.toMatch(/^a /m);
    });

    it('seeing or signalling a host process', () => {
      const sleeper = spawn('sleep', ['3613'], { stdio: 'ignore' });
      try {
        const pid = sleeper.pid!;
        const ref = procRef(pid)!;
        expect(isAlive(ref)).toBe(true);
        const r = sh(`kill -0 ${pid}; echo "k0=$?"; kill -9 ${pid}; echo "k9=$?"; test -e /proc/${pid}; echo "proc=$?"; ps -o args | grep -c "[s]leep 3613"`);
        expect(r.stdout).toMatch(/^k0=1$/m);
        expect(r.stdout).toMatch(/^k9=1$/m);
        expect(r.stdout).toMatch(/^proc=1$/m);
        expect(r.stdout.trim().split('\n').pop()).toBe('0');
        // Read from /proc: the event loop (blocked in spawnSync) has not reaped it, so a killed sleeper is a zombie here.
        expect(isAlive(ref)).toBe(true);
      } finally {
        sleeper.kill('SIGKILL');
      }
    });

    it("changing the host's host name, while its own changes", () => {
      const before = hostname();
      expect(sh('hostname tsd-renamed && hostname').stdout.trim()).toBe('tsd-renamed');
      expect(hostname()).toBe(before);
      expect(readFileSync('/proc/sys/kernel/hostname', 'utf8').trim()).toBe(before);
    });

    it("seeing the host's interfaces or network namespaces", () => {
      expect(sh('ls /sys/class/net').stdout.trim().split('\n').sort()).toEqual(['eth0', 'lo']);
      expect(sh('ip -o link show').stdout).not.toContain(bridge);
      const host = readdirSync('/sys/class/net');
      expect(host).toContain(bridge);
      expect(listNetns()).toEqual(expect.arrayContaining([sub.name, peer]));
      expect(sh('ls /run/netns /var/run/netns').code).not.toBe(0);
      expect(sh('cat /proc/self/mountinfo').stdout).not.toMatch(/ nsfs /);
    });

    it("reaching the host's root through /proc", () => {
      const marker = join(root, 'host-marker');
      writeFileSync(marker, 'host\n');
      // A process that ends during the loop (the loop's own) is skipped; the others are counted.
      const r = sh(`r=$(stat -c %d:%i /); n=0; for p in /proc/[0-9]* /proc/self /proc/thread-self; do
          [ -e "$p/root${marker}" ] && echo "LEAK $p"; x=$(stat -L -c %d:%i "$p/root/" 2>/dev/null) || continue
          [ "$x" = "$r" ] || echo "OTHER ROOT $p"; n=$((n + 1)); done; echo "checked $n"`);
      expect(r.stdout).not.toMatch(/LEAK|OTHER ROOT/);
      expect(Number(/^checked (\d+)$/m.exec(r.stdout)![1])).toBeGreaterThanOrEqual(4);
      expect(sh(`test -e ${marker}`).code).not.toBe(0);
      expect(sh('stat -c %t:%T /proc/1/root/dev/vda1').stdout.trim()).toBe(sh('stat -c %t:%T /dev/vda1').stdout.trim());
    });

    it('opening /dev/net/tun without TUN=yes', () => {
      expect(sh('test -e /dev/net').code).not.toBe(0);
      expect(sh('mknod /dev/tun c 10 200').stderr).toContain('Operation not permitted');
    });
  });

  describe('each of these still works', () => {
    it('has only the standard nodes and its disks in /dev', () => {
      expect(sh('ls -A /dev').stdout.trim().split('\n').sort()).toEqual(
        ['console', 'fd', 'full', 'null', 'ptmx', 'pts', 'random', 'shm', 'stderr', 'stdin', 'stdout', 'tty', 'urandom', 'vda1', 'vdb1', 'zero'].sort(),
      );
      expect(sh('echo x > /dev/null && head -c 4 /dev/urandom | wc -c && head -c 2 /dev/zero | wc -c').stdout).toBe('4\n2\n');
      expect(sh('exec 3<>/dev/ptmx && ls /dev/pts').stdout).toMatch(/^0$/m);
    });

    it('mounts its own /dev/vdb1 (fstab did at boot; again by hand here)', () => {
      expect(sh('grep "^/dev/vdb1 /data ext4 " /proc/mounts').code).toBe(0);
      const r = sh('mkdir -p /mnt/again && mount /dev/vdb1 /mnt/again && echo data > /mnt/again/by-hand && cat /data/by-hand && umount /mnt/again');
      expect(r.code).toBe(0);
      expect(r.stdout).toBe('data\n');
    });

    it('brings its interfaces up and sets addresses inside', async () => {
      const r = sh('ip addr add 10.214.6.2/24 dev eth0 && ip link set eth0 up && ip addr add 192.0.2.7/32 dev lo && ip -o addr show');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('10.214.6.2/24');
      expect(r.stdout).toContain('192.0.2.7/32');
      expect(sh('ping -c 1 -W 5 10.214.6.1').code).toBe(0);
      expect((await run(['ip', '-o', 'addr', 'show'])).stdout).not.toContain('192.0.2.7');
    });

    it('ran rcS and rc 2', () => {
      expect(sh('cat /run/rcS.ran /run/rc.ran').code).toBe(0);
      expect(sh('cat /run/rc.ran').stdout.trim()).toBe('2');
    });

    it('runs a daemon that binds a port (httpd started by rc 2)', () => {
      const r = sh('wget -q -O - http://127.0.0.1:8080/index.html');
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(PAGE);
    });

    it('shows the hardening in force in status, text and JSON', () => {
      const s = status();
      expect(s.hardening.problems).toEqual([]);
      expect(s.hardening.capabilitiesDropped).toEqual(DROPPED_CAPABILITIES.map((c) => c.cap));
      expect(s.hardening.sys).toBe('read-only');
      expect(s.hardening.paths.find((p: { path: string }) => p.path === '/proc/sys')).toEqual({ path: '/proc/sys', want: 'read-only', state: 'read-only' });
      expect(s.hardening.devices).toMatchObject({ control: devicesControl, restricted: true });
      expect(s.hardening.devices.program).toEqual({
        id: expect.any(Number),
        tag: expect.stringMatching(/^[0-9a-f]{16}$/),
        attachedTo: expect.stringMatching(new RegExp(`/subhost/${sub.name}$`)),
        guestCgroup: expect.stringMatching(new RegExp(`/subhost/${sub.name}/guest$`)),
        inForce: true,
      });
      if (v1DevicesToo) expect(s.hardening.devices.cgroup).toMatch(new RegExp(`/devices/subhost/${sub.name}/guest$`));
      expect(s.hardening.devices.allowed.map((a: { what: string }) => a.what)).toEqual(['null', 'zero', 'full', 'random', 'urandom', 'tty', 'ptmx', 'pts', 'vda1', 'vdb1']);
      const text = ok(['status', sub.name], { root }).stdout;
      expect(text).toMatch(/^ {2}caps {8}dropped sys_module sys_rawio sys_time /m);
      expect(text).toMatch(/^ {2}\/proc {7}read-only sys .*; writable sys\/net; masked /m);
      expect(text).toMatch(/^ {2}\/sys {8}read-only; masked firmware$/m);
      expect(text).toMatch(new RegExp(`^ {2}devices {5}only null zero .* vda1 vdb1 \\(device eBPF program ${s.hardening.devices.program.id} on \\S+/subhost/${sub.name}${v1DevicesToo ? ', and the cgroup v1 devices controller' : ''}\\)$`, 'm'));
      expect(text).not.toContain('NOT in force');
    });

    it('shows a protection the guest took away', () => {
      expect(sh('mount -o remount,bind,rw /proc/sys').code).toBe(0);
      try {
        expect(status().hardening.problems).toEqual(['/proc/sys is writable, not read-only']);
        expect(ok(['status', sub.name], { root }).stdout).toMatch(/^ {2}NOT in force {1}\/proc\/sys is writable, not read-only$/m);
      } finally {
        expect(sh('mount -o remount,bind,ro /proc/sys').code).toBe(0);
      }
      expect(status().hardening.problems).toEqual([]);
    });

    it('powers off with its own poweroff, and everything is released', async () => {
      const s = status();
      sh(guardedInGuestPidns(s.pid1, 'poweroff'));
      await waitFor('the guest to release everything', () => !existsSync(`/proc/${s.pid1}`) && leftoversOf(sub.name).length === 0, 15_000);
      expect(status().state).toBe('stopped');
      expect(ok(['logs', sub.name], { root }).stdout).toContain('subhost-init: poweroff');
    });
  });
});
