import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hardeningLines } from '../../src/cli/format/hardening';
import { boundingSetArg, capabilitiesInMask, CAPABILITY_NAMES, droppedCapabilityNumbers, DROPPED_CAPABILITIES, KEPT_CAPABILITIES, setprivArgs } from '../../src/core/guest/capabilities';
import { validateConfig } from '../../src/core/config/validate';
import { deviceControl, deviceRules, parseDevicesList, v1Rule } from '../../src/core/cgroups/devices';
import { protectionEnv, PROTECTED_PATHS } from '../../src/core/guest/hardening';
import { hardeningFrom, type HardeningInput } from '../../src/core/inspect/hardening-info';
import { Paths } from '../../src/core/state/paths';
import { buildBootPlan } from '../../src/core/plan/boot-plan';
import type { DevicesResult } from '../../src/core/steps/devices';
import { parseMountinfo } from '../../src/host/mountinfo';
import { CgroupSet } from '../../src/core/cgroups/subhost-cgroups';

/** PID 1's mountinfo in a subhost booted on the development VM (kernel 6.18, no kcore, no sysrq). */
const GUEST_MOUNTS = parseMountinfo(readFileSync(join(__dirname, 'fixtures/guest-mountinfo.txt'), 'utf8'));
const ABSENT_HERE = new Set(['/proc/sysrq-trigger', '/proc/kcore', '/proc/sched_debug', '/proc/scsi']);
const DISKS = [
  { node: 'vda1', major: 7, minor: 6 },
  { node: 'vdb1', major: 7, minor: 7 },
];
const PROGRAM = { id: 97, tag: '7e35b8acbe968f2f', attachedTo: '/sys/fs/cgroup/unified/subhost/web1', guestCgroup: '/sys/fs/cgroup/unified/subhost/web1/guest' };
const V1_DEVICES: DevicesResult = {
  control: 'cgroup-v1+bpf',
  cgroup: '/sys/fs/cgroup/devices/subhost/web1/guest',
  allowed: deviceRules(DISKS, false).map((r) => ({ what: r.what, rule: v1Rule(r) })),
  program: PROGRAM,
};
/** BPF_PROG_QUERY of subhost/NAME (attached) and of its leaf (effective): the program is in force. */
const IN_FORCE = { attached: [97], effective: [97] };
const DEVICES_LIST = V1_DEVICES.allowed!.map((a) => a.rule).join('\n') + '\n';

function input(over: Partial<HardeningInput> = {}): HardeningInput {
  return { capBnd: '000001e0bcfcfffb', mounts: GUEST_MOUNTS, devices: V1_DEVICES, devicesList: DEVICES_LIST, programs: IN_FORCE, kernelHas: (p) => !ABSENT_HERE.has(p), ...over };
}

describe('capabilities', () => {
  it('drops the ten of issues 1 and 13 from the bounding set, with a reason each, and keeps what a guest needs', () => {
    expect(boundingSetArg()).toBe('-sys_module,-sys_rawio,-sys_time,-mac_admin,-mac_override,-syslog,-wake_alarm,-block_suspend,-audit_control,-dac_read_search');
    for (const c of [...DROPPED_CAPABILITIES, ...KEPT_CAPABILITIES]) {
      expect(CAPABILITY_NAMES).toContain(c.cap);
      expect(c.why.length).toBeGreaterThan(10);
    }
    expect(KEPT_CAPABILITIES.map((c) => c.cap)).toEqual(['sys_admin', 'net_admin', 'sys_boot', 'mknod']);
    expect(setprivArgs()).toEqual(['--bounding-set', boundingSetArg(), '--inh-caps=-all', '--ambient-caps=-all']);
    // What pivot-exec drops for PID 1: the same capabilities, by number (linux/capability.h).
    expect(droppedCapabilityNumbers()).toBe('16,17,25,33,32,34,35,36,30,2');
  });

  it('reads a CapBnd mask', () => {
    expect(capabilitiesInMask('000001ffffffffff')).toEqual([...CAPABILITY_NAMES]);
    const inside = capabilitiesInMask('000001e0bcfcfffb');
    for (const c of DROPPED_CAPABILITIES) expect(inside).not.toContain(c.cap);
    expect(inside).toEqual(expect.arrayContaining(['sys_admin', 'net_admin', 'sys_boot', 'mknod', 'chown', 'dac_override']));
    expect(capabilitiesInMask('0000000000000001')).toEqual(['chown']);
    expect(capabilitiesInMask('0000000000200000')).toEqual(['sys_admin']);
  });
});

describe('device rules', () => {
  it('allow the standard character devices, the declared disks, and tun only when asked', () => {
    expect(deviceRules(DISKS, false).map(v1Rule)).toEqual([
      'c 1:3 rwm', 'c 1:5 rwm', 'c 1:7 rwm', 'c 1:8 rwm', 'c 1:9 rwm', 'c 5:0 rwm', 'c 5:2 rwm', 'c 136:* rwm', 'b 7:6 rwm', 'b 7:7 rwm',
    ]);
    const withTun = deviceRules([], true);
    expect(withTun.find((r) => r.what === 'net/tun')).toEqual({ type: 'c', major: 10, minor: 200, what: 'net/tun' });
    expect(deviceRules([], false).some((r) => r.what === 'net/tun')).toBe(false);
    expect(deviceRules([], false).some((r) => r.type === 'b')).toBe(false);
  });

  it('parses devices.list', () => {
    expect(parseDevicesList('a *:* rwm\n')).toEqual({ all: true, rules: ['a *:* rwm'] });
    expect(parseDevicesList('c 1:3 rwm\nb 7:6 rwm\n')).toEqual({ all: false, rules: ['c 1:3 rwm', 'b 7:6 rwm'] });
    expect(parseDevicesList('')).toEqual({ all: false, rules: [] });
  });

  it('are enforced by the device program everywhere, and by the v1 devices controller too where the host has one', () => {
    const devices = [{ mountPoint: '/sys/fs/cgroup/devices', controllers: ['devices' as const] }];
    expect(deviceControl(devices, {})).toBe('cgroup-v1+bpf');
    expect(deviceControl([{ mountPoint: '/sys/fs/cgroup/cpu', controllers: ['cpu', 'cpuacct'] }], {})).toBe('bpf');
    expect(deviceControl([], {})).toBe('bpf');
    // The tests' switch: the program alone, as on a pure v2 host.
    expect(deviceControl(devices, { SUBHOST_TEST_DEVICES: 'bpf' })).toBe('bpf');
  });
});

describe("where a subhost's processes go", () => {
  it('is the leaf in cgroup2 and the devices hierarchy once the devices step made it, the cgroup itself elsewhere', () => {
    const dir = mkdtempSync(join(tmpdir(), 'subhost-unit-'));
    try {
      const cg = (p: string) => {
        mkdirSync(join(dir, p), { recursive: true });
        writeFileSync(join(dir, p, 'cgroup.procs'), '');
      };
      const v1 = [{ mountPoint: join(dir, 'devices'), controllers: ['devices' as const] }, { mountPoint: join(dir, 'pids'), controllers: ['pids' as const] }];
      for (const p of ['unified/subhost/web1', 'devices/subhost/web1', 'pids/subhost/web1']) cg(p);
      const set = CgroupSet.at(join(dir, 'unified'), 'subhost/web1', v1);
      expect(set.procsFiles()).toEqual(['unified', 'devices', 'pids'].map((h) => join(dir, h, 'subhost/web1/cgroup.procs')));
      cg('devices/subhost/web1/guest');
      cg('unified/subhost/web1/guest');
      expect(set.procsFiles()).toEqual(['unified/subhost/web1/guest', 'devices/subhost/web1/guest', 'pids/subhost/web1'].map((c) => join(dir, c, 'cgroup.procs')));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('protected /proc and /sys paths', () => {
  it('cover what the issue names, each with a reason', () => {
    const by = (how: string) => PROTECTED_PATHS.filter((p) => p.how === how).map((p) => p.path);
    expect(by('read-only')).toEqual(expect.arrayContaining(['/proc/sys', '/proc/sysrq-trigger']));
    expect(by('writable')).toEqual(['/proc/sys/net']);
    expect(by('masked')).toEqual(expect.arrayContaining(['/proc/kcore', '/proc/keys', '/proc/timer_list', '/proc/sched_debug', '/sys/firmware']));
    for (const p of PROTECTED_PATHS) {
      expect(p.path).toMatch(/^\/(proc|sys)\/[a-z_/-]+$/);
      expect(p.why.length).toBeGreaterThan(10);
    }
  });

  it('make every writable path an exception inside a read-only one, listed after it', () => {
    for (const w of PROTECTED_PATHS.filter((p) => p.how === 'writable')) {
      const parent = PROTECTED_PATHS.findIndex((p) => p.how === 'read-only' && w.path.startsWith(`${p.path}/`));
      expect(parent).toBeGreaterThanOrEqual(0);
      expect(parent).toBeLessThan(PROTECTED_PATHS.indexOf(w));
    }
  });

  it('reach subhost-init as comma-separated lists without spaces', () => {
    const env = protectionEnv();
    expect(env).toHaveLength(3);
    expect(env[0]).toMatch(/^SUBHOST_INIT_READONLY=\/proc\/sys,\/proc\/sysrq-trigger,/);
    expect(env[1]).toBe('SUBHOST_INIT_WRITABLE=/proc/sys/net');
    expect(env[2]).toMatch(/^SUBHOST_INIT_MASKED=\/proc\/kcore,/);
    for (const e of env) expect(e).not.toMatch(/\s/);
  });
});

describe('hardening in force (status)', () => {
  it('is complete in a subhost booted by subhost', () => {
    const h = hardeningFrom(input());
    expect(h.problems).toEqual([]);
    expect(h.capabilitiesDropped).toEqual(DROPPED_CAPABILITIES.map((c) => c.cap));
    expect(h.sys).toBe('read-only');
    const state = Object.fromEntries(h.paths.map((p) => [p.path, p.state]));
    expect(state).toMatchObject({ '/proc/sys': 'read-only', '/proc/sys/net': 'writable', '/proc/keys': 'masked', '/sys/firmware': 'masked', '/proc/acpi': 'masked', '/proc/kcore': 'absent' });
    expect(h.devices).toMatchObject({ control: 'cgroup-v1+bpf', restricted: true, program: { ...PROGRAM, inForce: true } });
    expect(hardeningLines(h)).toEqual([
      ['caps', 'dropped sys_module sys_rawio sys_time mac_admin mac_override syslog wake_alarm block_suspend audit_control dac_read_search'],
      ['/proc', 'read-only sys bus irq fs; writable sys/net; masked keys timer_list acpi; not in this kernel sysrq-trigger kcore sched_debug scsi'],
      ['/sys', 'read-only; masked firmware'],
      ['devices', 'only null zero full random urandom tty ptmx pts vda1 vdb1 (device eBPF program 97 on /sys/fs/cgroup/unified/subhost/web1, and the cgroup v1 devices controller)'],
    ]);
  });

  it('names what is not in force: a remounted /proc/sys, a kept capability, a missing mask, all devices allowed', () => {
    const mounts = GUEST_MOUNTS.map((m) => (m.mountPoint === '/proc/sys' ? { ...m, options: ['rw'] } : m)).filter((m) => m.mountPoint !== '/proc/keys');
    const h = hardeningFrom(input({ mounts, capBnd: '000001e0befcfffb', devicesList: 'a *:* rwm\n' }));
    expect(h.problems).toEqual([
      'capability sys_time is in the bounding set',
      '/proc/sys is writable, not read-only',
      '/proc/keys is unprotected, not masked',
      '/sys/fs/cgroup/devices/subhost/web1/guest allows every device',
    ]);
    const lines = hardeningLines(h);
    expect(lines).toContainEqual(['devices', 'NOT restricted: /sys/fs/cgroup/devices/subhost/web1/guest allows every device']);
    expect(lines.filter(([k]) => k === 'NOT in force')).toHaveLength(4);
  });

  it('on a pure cgroup v2 host: the program alone', () => {
    const h = hardeningFrom(input({ devices: { ...V1_DEVICES, control: 'bpf', cgroup: undefined }, devicesList: undefined }));
    expect(h.problems).toEqual([]);
    expect(h.devices).toMatchObject({ control: 'bpf', restricted: true });
    expect(hardeningLines(h)).toContainEqual(['devices', 'only null zero full random urandom tty ptmx pts vda1 vdb1 (device eBPF program 97 on /sys/fs/cgroup/unified/subhost/web1)']);
  });

  it('names a program detached, not run for the guest, or never set up', () => {
    const pureV2 = { ...V1_DEVICES, control: 'bpf' as const, cgroup: undefined };
    const detached = hardeningFrom(input({ devices: pureV2, programs: { attached: [], effective: [] } }));
    expect(detached.problems).toEqual(['device eBPF program 97 is no longer attached to /sys/fs/cgroup/unified/subhost/web1']);
    expect(detached.devices).toMatchObject({ restricted: false, program: { inForce: false } });
    expect(hardeningLines(detached)).toContainEqual(['devices', 'NOT restricted: device eBPF program 97 is no longer attached to /sys/fs/cgroup/unified/subhost/web1']);
    const notRun = hardeningFrom(input({ devices: pureV2, programs: { attached: [97], effective: [5] } }));
    expect(notRun.problems).toEqual(['device eBPF program 97 does not run for /sys/fs/cgroup/unified/subhost/web1/guest']);
    expect(hardeningFrom(input({ devices: pureV2, programs: undefined })).problems).toEqual(['the device eBPF programs of /sys/fs/cgroup/unified/subhost/web1 could not be read']);
    const old = hardeningFrom(input({ devices: { control: 'none' }, devicesList: undefined }));
    expect(old.devices).toEqual({ control: 'none', restricted: false, allowed: [] });
    expect(old.problems).toEqual(['no device eBPF program was set up (booted by an older subhost): devices are not restricted']);
  });

  it('notices an extra device rule and an open /sys/firmware', () => {
    const mounts = GUEST_MOUNTS.filter((m) => m.mountPoint !== '/sys/firmware');
    const h = hardeningFrom(input({ mounts, devicesList: `${DEVICES_LIST}b 254:0 rwm\n` }));
    expect(h.problems).toEqual(['/sys/firmware is unprotected, not masked', '/sys/fs/cgroup/devices/subhost/web1/guest also allows b 254:0 rwm']);
  });
});

describe('the boot plan', () => {
  const paths = new Paths('/opt/sub', '/run/subhost');
  const tables = new Map([['/d/root.raw', { scheme: 'mbr' as const, partitions: [{ index: 1, offset: 1048576, size: 1000 }] }]]);
  const plan = (tun: boolean, deviceControl: 'cgroup-v1+bpf' | 'bpf') =>
    buildBootPlan(validateConfig('web1', { DISKS: ['vda:1:/d/root.raw'], TUN: tun ? 'yes' : 'no' }, '/opt/sub/web1'), { paths, tables, bootId: 'b', graceSeconds: 1, deviceControl, cgroupLayout: { v2: [], v1: ['devices'] } });

  it('restricts devices after the cgroup and the partitions are made, before PID 1 starts', () => {
    // The executor runs a step once everything in its `after` is done: that, not the list's order, is the sequence.
    const steps = plan(false, 'cgroup-v1+bpf').steps;
    const after = (kind: string) => steps.find((s) => s.kind === kind)!.after;
    const partitions = steps.filter((s) => s.kind === 'partition').map((s) => s.id);
    expect(partitions).toEqual(['disk:vda1']);
    expect(after('devices')).toEqual(expect.arrayContaining(['cgroup', ...partitions]));
    expect(after('start-init')).toContain('devices');
    expect(after('cgroup')).not.toContain('devices');
    const step = plan(false, 'cgroup-v1+bpf').steps.find((s) => s.kind === 'devices')!;
    expect(step.params).toEqual({ cgroup: 'subhost/web1', disks: [{ node: 'vda1', from: 'disk:vda1' }], tun: false, control: 'cgroup-v1+bpf' });
    expect(step.describe).toBe(
      'allow only null zero full random urandom tty ptmx pts vda1: a device eBPF program on the cgroup2 subhost/web1 and deny all but these in the v1 devices cgroup subhost/web1; the guest runs in the child subhost/web1/guest',
    );
  });

  it('allows tun only with TUN=yes; on a pure v2 host the program alone', () => {
    expect(plan(true, 'cgroup-v1+bpf').steps.find((s) => s.kind === 'devices')!.describe).toContain('pts net/tun vda1');
    const v2 = plan(false, 'bpf').steps.find((s) => s.kind === 'devices')!;
    expect(v2.params).toMatchObject({ control: 'bpf' });
    expect(v2.describe).toBe('allow only null zero full random urandom tty ptmx pts vda1: a device eBPF program on the cgroup2 subhost/web1; the guest runs in the child subhost/web1/guest');
  });

  it('tells what PID 1 loses', () => {
    const start = plan(false, 'cgroup-v1+bpf').steps.find((s) => s.kind === 'start-init')!.describe;
    expect(start).toContain('without capabilities sys_module sys_rawio sys_time mac_admin mac_override syslog wake_alarm block_suspend audit_control dac_read_search (none inheritable or ambient);');
    expect(start).toContain('/sys read-only, /proc/sys read-only but net/, host-only /proc files masked');
  });
});

describe('the README', () => {
  const readme = readFileSync(join(__dirname, '../../README.md'), 'utf8');
  it('documents every capability choice and every protected path, with the same reason', () => {
    for (const c of [...DROPPED_CAPABILITIES, ...KEPT_CAPABILITIES]) expect(readme).toContain(`| \`${c.cap}\` | ${c.why} |`);
    for (const p of PROTECTED_PATHS) expect(readme).toContain(`| \`${p.path}\` | ${p.how} | ${p.why} |`);
  });
  it('no longer states a device gap of pure cgroup v2 hosts', () => {
    expect(readme).not.toMatch(/devices are not restricted|block devices: not restricted/i);
  });
});
