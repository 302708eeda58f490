import { describe, expect, it } from 'vitest';
import { buildSetupPlan, decideVm } from '../../src/core/vms/setup-plan';
import { isVmProcess, splitQemuOpts, vmNameFromArgv, vmNameProblem, type VmProcess } from '../../src/core/vms/vm-process';
import { formatPlan } from '../../src/core/plan/types';

describe('isVmProcess', () => {
  it('takes kvm, qemu-kvm and qemu-system-* by executable or comm', () => {
    expect(isVmProcess('/usr/bin/qemu-system-x86_64', 'qemu-system-x86')).toBe(true);
    expect(isVmProcess('/usr/libexec/qemu-kvm', 'qemu-kvm')).toBe(true);
    expect(isVmProcess('/usr/bin/kvm', 'kvm')).toBe(true);
    expect(isVmProcess('/usr/bin/qemu-system-aarch64 (deleted)', 'x')).toBe(true);
    // -name ...,process=web1 renames comm; the executable still says what it is.
    expect(isVmProcess('/usr/bin/qemu-system-x86_64', 'web1')).toBe(true);
    expect(isVmProcess(undefined, 'qemu-system-x86')).toBe(true);
  });
  it('leaves everything else alone', () => {
    expect(isVmProcess('/usr/bin/qemu-img', 'qemu-img')).toBe(false);
    expect(isVmProcess('/usr/bin/qemu-x86_64', 'qemu-x86_64')).toBe(false);
    expect(isVmProcess('/usr/bin/kvmtool', 'kvmtool')).toBe(false);
    expect(isVmProcess('/usr/bin/bash', 'bash')).toBe(false);
    expect(isVmProcess(undefined, 'kvm-pit/1234')).toBe(false);
  });
});

describe('vmNameFromArgv', () => {
  const q = (...args: string[]) => ['/usr/bin/qemu-system-x86_64', '-enable-kvm', ...args, '-m', '1024'];
  it('reads -name NAME and the guest= form', () => {
    expect(vmNameFromArgv(q('-name', 'vm1'))).toBe('vm1');
    expect(vmNameFromArgv(q('-name', 'guest=web1.example.org,debug-threads=on'))).toBe('web1.example.org');
    expect(vmNameFromArgv(q('-name', 'inst1,process=kvm-inst1'))).toBe('inst1');
    expect(vmNameFromArgv(q('-name', 'process=p,guest=g'))).toBe('g');
    expect(vmNameFromArgv(q('--name', 'vm2'))).toBe('vm2');
  });
  it('takes the last -name, as QEMU does, and unescapes ",,"', () => {
    expect(vmNameFromArgv(q('-name', 'a', '-name', 'b'))).toBe('b');
    expect(vmNameFromArgv(q('-name', 'guest=a,,b,debug-threads=on'))).toBe('a,b');
    expect(splitQemuOpts('a,,b,c=d,,,e')).toEqual(['a,b', 'c=d,', 'e']);
  });
  it('finds nothing without -name, or with -name last and no value', () => {
    expect(vmNameFromArgv(q())).toBeUndefined();
    expect(vmNameFromArgv(['/usr/bin/kvm', '-name'])).toBeUndefined();
    expect(vmNameFromArgv(q('-name', 'process=p,debug-threads=on'))).toBeUndefined();
  });
});

describe('vmNameProblem', () => {
  it('accepts instance names and FQDNs', () => {
    expect(vmNameProblem('web1.example.org')).toBeUndefined();
    expect(vmNameProblem('Win_2019-a')).toBeUndefined();
  });
  it('refuses what cannot be a directory under vm/', () => {
    for (const bad of ['', '.', '..', 'a/b', 'a b', 'x\ny', '-x', 'memory.max', 'cgroup.procs', 'a'.repeat(201)]) expect(vmNameProblem(bad), bad).toBeDefined();
  });
});

const v1 = [
  { mountPoint: '/sys/fs/cgroup/cpu', controllers: ['cpu' as const] },
  { mountPoint: '/sys/fs/cgroup/memory', controllers: ['memory' as const] },
];
function vm(pid: number, name: string | undefined, v2: string, v1paths: Record<string, string> = { cpu: '/', memory: '/' }, problem?: string): VmProcess {
  return { pid, start: 100 + pid, exe: 'qemu-system-x86_64', ...(name ? { name } : {}), ...(problem ? { problem } : {}), cgroups: { v2, v1: v1paths } };
}

describe('decideVm', () => {
  it('moves a VM that is not in vm/NAME in every hierarchy', () => {
    expect(decideVm(vm(1, 'a', '/'), v1).action).toBe('move');
    expect(decideVm(vm(2, 'a', '/vm/a', { cpu: '/vm/a', memory: '/' }), v1).action).toBe('move');
    expect(decideVm(vm(3, 'a', '/vm/a', { cpu: '/vm/a', memory: '/vm/a' }), v1).action).toBe('in place');
  });
  it('skips, with the reason, a VM without a usable name and one inside a subhost', () => {
    expect(decideVm(vm(4, undefined, '/', {}, 'it has no -name'), v1)).toEqual({ pid: 4, exe: 'qemu-system-x86_64', action: 'skip', reason: 'it has no -name' });
    expect(decideVm(vm(5, 'a', '/subhost/web1/init.scope'), v1)).toMatchObject({ action: 'skip', reason: 'it runs inside subhost web1' });
  });
});

describe('buildSetupPlan', () => {
  const facts = { host: 'h1', cgroupMount: '/sys/fs/cgroup', v1: [], offered: ['cpuset', 'cpu', 'io', 'memory', 'pids'], vms: [vm(10, 'a', '/system.slice/ganeti.service', {}), vm(11, 'b', '/vm/b', {}), vm(12, undefined, '/', {}, 'it has no -name')] };
  it('makes both parents, then one move per VM to move', () => {
    const { plan, vms } = buildSetupPlan(facts);
    expect(plan.steps.map((s) => s.kind)).toEqual(['cgroup-parent', 'cgroup-parent', 'move-vm']);
    expect(plan.steps[2].params).toEqual({ pid: 10, start: 110, exe: 'qemu-system-x86_64', name: 'a', path: 'vm/a', from: { v2: '/system.slice/ganeti.service', v1: {} } });
    expect(vms.map((v) => v.action)).toEqual(['move', 'in place', 'skip']);
    expect(formatPlan(plan).split('\n')).toEqual([
      'cgroups setup on h1: 3 steps',
      '  1. make subhost/ in /sys/fs/cgroup; enable cpu, memory, pids, io for its children',
      '  2. make vm/ in /sys/fs/cgroup; enable cpu, memory, pids, io for its children',
      '  3. move qemu-system-x86_64 PID 10 (-name a) from /system.slice/ganeti.service into vm/a',
    ]);
  });
  it('says on a hybrid host that cgroup2 offers no controllers and which v1 hierarchies get the parents', () => {
    const { plan } = buildSetupPlan({ ...facts, offered: ['hugetlb'], v1, vms: [] });
    expect(plan.steps[0].describe).toBe('make subhost/ in /sys/fs/cgroup and in the v1 hierarchies cpu memory; cgroup2 here offers none of cpu, memory, pids, io');
  });
});
