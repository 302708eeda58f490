import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CgroupSet } from '../../src/core/cgroups/subhost-cgroups';
import { isVmProcess } from '../../src/core/vms/vm-process';
import { findCgroup2Mount } from '../../src/host/cgroupfs';
import { findV1Hierarchies } from '../../src/host/cgroup-v1';
import { listPids, readStat } from '../../src/host/proc';
import { cli, ok } from '../helpers/cli';
import { makeTestRoot, PREFIX, removeTestRoot, testName, waitFor } from '../helpers/env';
import { createDiskSubhost, type DiskSubhost } from '../helpers/fixtures';
import { statusOf } from '../helpers/subhost';

const QEMU = ['-S', '-display', 'none', '-nodefaults', '-m', '16', '-accel', 'tcg'];

function readCgroup(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cgroup`, 'utf8');
  } catch {
    return undefined;
  }
}

/** Every process's cgroups, keyed by PID and start time (a reused PID is another process). */
function snapshot(): Map<string, { pid: number; cgroup: string }> {
  const out = new Map<string, { pid: number; cgroup: string }>();
  for (const pid of listPids()) {
    const st = readStat(pid);
    const cgroup = readCgroup(pid);
    if (st && cgroup !== undefined) out.set(`${pid}/${st.start}`, { pid, cgroup });
  }
  return out;
}

function exeOf(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return undefined;
  }
}

describe('cgroups setup moves real VM processes into vm/NAME, and usage lists them', () => {
  const root = makeTestRoot();
  const vm1 = `${PREFIX}vm1${process.pid % 1000}`;
  const vm2 = `${PREFIX}vm2${process.pid % 1000}`;
  const qemus: ChildProcess[] = [];
  let named1: ChildProcess;
  let named2: ChildProcess;
  let nameless: ChildProcess;
  let sub: DiskSubhost;
  let before: Map<string, { pid: number; cgroup: string }>;
  let after: Map<string, { pid: number; cgroup: string }>;
  let report: { vms: { pid: number; exe: string; name?: string; cgroup?: string; action: string; reason?: string }[]; parents: { path: string }[] };
  const mount = findCgroup2Mount();
  const inVm = (pid: number, name: string) => {
    const lines = readCgroup(pid)!.trim().split('\n');
    return lines.includes(`0::/vm/${name}`) && findV1Hierarchies().every((h) => lines.some((l) => l.split(':')[1].split(',').includes(h.controllers[0]) && l.endsWith(`:/vm/${name}`)));
  };
  const qemu = (args: string[]) => {
    const child = spawn('qemu-system-x86_64', [...args, ...QEMU], { stdio: 'ignore' });
    qemus.push(child);
    return child;
  };

  beforeAll(async () => {
    sub = await createDiskSubhost(root, testName('v'), { dataDisk: false });
    ok(['boot', sub.name], { root });
    named1 = qemu(['-name', vm1]);
    named2 = qemu(['-name', `guest=${vm2},debug-threads=on`]);
    nameless = qemu([]);
    await waitFor('the qemus to run', () => qemus.every((q) => q.pid && isVmProcess(exeOf(q.pid), readStat(q.pid)?.comm ?? '')));
  });

  afterAll(async () => {
    for (const q of qemus) if (q.exitCode === null && q.signalCode === null) q.kill('SIGKILL');
    await waitFor('the qemus to end', () => qemus.every((q) => q.exitCode !== null || q.signalCode !== null));
    for (const name of [vm1, vm2]) for (const c of CgroupSet.at(mount, `vm/${name}`).existing()) c.remove();
    cli(['stop', sub.name], { root });
    removeTestRoot(root);
  });

  it('prints the plan with --dry-run and changes nothing', () => {
    const cgroupBefore = readCgroup(named1.pid!);
    const out = ok(['cgroups', 'setup', '--dry-run']).stdout;
    expect(out).toMatch(/^cgroups setup on \S+: \d+ steps$/m);
    expect(out).toContain(`move qemu-system-x86_64 PID ${named1.pid} (-name ${vm1}) from `);
    expect(out).toContain(`qemu-system-x86_64 PID ${nameless.pid}: skipped: it has no -name`);
    expect(readCgroup(named1.pid!)).toBe(cgroupBefore);
    expect(existsSync(`${mount}/vm/${vm1}`)).toBe(false);
  });

  it('moves each named VM into vm/NAME in cgroup2 and every v1 hierarchy', () => {
    before = snapshot();
    const r = ok(['cgroups', 'setup', '--json']);
    after = snapshot();
    report = JSON.parse(r.stdout);
    expect(report.parents.map((p) => p.path)).toEqual(['subhost', 'vm']);
    expect(inVm(named1.pid!, vm1)).toBe(true);
    expect(inVm(named2.pid!, vm2)).toBe(true);
    const mine = report.vms.filter((v) => [named1.pid, named2.pid, nameless.pid].includes(v.pid));
    expect(mine).toEqual([
      { pid: named1.pid, exe: 'qemu-system-x86_64', name: vm1, cgroup: `vm/${vm1}`, action: 'moved' },
      { pid: named2.pid, exe: 'qemu-system-x86_64', name: vm2, cgroup: `vm/${vm2}`, action: 'moved' },
      { pid: nameless.pid, exe: 'qemu-system-x86_64', action: 'skipped', reason: 'it has no -name' },
    ]);
  });

  it('moves nothing that is not a VM: every other process keeps its cgroups', () => {
    const changed = [...before].filter(([k, b]) => after.has(k) && after.get(k)!.cgroup !== b.cgroup).map(([k, b]) => ({ pid: b.pid, before: b.cgroup, after: after.get(k)!.cgroup }));
    expect(changed.map((c) => c.pid)).toEqual(expect.arrayContaining([named1.pid, named2.pid]));
    const unexplained = changed.filter((c) => {
      if (isVmProcess(exeOf(c.pid), readStat(c.pid)?.comm ?? '')) return !/^0::\/vm\//m.test(c.after);
      // Other test runs on this machine boot, enter and stop subhosts meanwhile: their processes move in and out of subhost cgroups.
      return !/^0::\/subhost/m.test(c.before) && !/^0::\/subhost/m.test(c.after);
    });
    expect(unexplained).toEqual([]);
    expect(changed.some((c) => c.pid === nameless.pid)).toBe(false);
    for (const v of report.vms.filter((x) => x.action === 'moved')) expect(v.exe).toMatch(/^(kvm|qemu-kvm|qemu-system-.+)$/);
    // The subhost's own processes stay in its cgroup.
    const sPid1 = statusOf(root, sub.name).pid1;
    expect(readCgroup(sPid1)).toContain(`0::/subhost/${sub.name}/guest\n`);
  });

  it('is idempotent: a second run finds them in place and moves nothing', () => {
    const again = JSON.parse(ok(['cgroups', 'setup', '--json']).stdout);
    const mine = again.vms.filter((v: { pid: number }) => [named1.pid, named2.pid].includes(v.pid));
    expect(mine.map((v: { action: string }) => v.action)).toEqual(['in place', 'in place']);
    expect(again.parents.every((p: { created: string[] }) => p.created.length === 0)).toBe(true);
    const text = ok(['cgroups', 'setup']).stdout;
    expect(text).toContain(`vm/${vm1}: qemu-system-x86_64 PID ${named1.pid} already there`);
    expect(text).toMatch(/^subhost\/: exists; /m);
  });

  it('lists the VMs in usage with kind vm and the host name', () => {
    const records = JSON.parse(ok(['usage', vm1, vm2, sub.name, '--json']).stdout);
    expect(records.map((r: { kind: string; name: string }) => `${r.kind}/${r.name}`)).toEqual([`subhost/${sub.name}`, `vm/${vm1}`, `vm/${vm2}`]);
    for (const r of records) {
      expect(r.host).toBe(hostname());
      expect(r.cpu.source).toBe('v2');
      expect(r.tasks.count).toBeGreaterThanOrEqual(1);
    }
    const vm = records[1];
    expect(vm.cgroup).toBe(`${mount}/vm/${vm1}`);
    // qemu runs several threads (vCPU, I/O); every one is a task.
    expect(vm.tasks.count).toBe(Number(/^Threads:\s+(\d+)$/m.exec(readFileSync(`/proc/${named1.pid}/status`, 'utf8'))![1]));
    expect(ok(['usage']).stdout).toMatch(new RegExp(`^${hostname()}\\s+vm\\s+${vm1}\\s`, 'm'));
  });

  it('prints Prometheus metrics that pass promtool check metrics', () => {
    const metrics = ok(['usage', '--prometheus']).stdout;
    expect(metrics).toContain(`subhost_cpu_seconds_total{host="${hostname()}",kind="vm",name="${vm1}",mode="user"} `);
    expect(metrics).toContain(`subhost_memory_current_bytes{host="${hostname()}",kind="subhost",name="${sub.name}"} `);
    const check = spawnSync('promtool', ['check', 'metrics'], { input: metrics, encoding: 'utf8' });
    expect(check.stdout + check.stderr).toBe('');
    expect(check.status).toBe(0);
  });
});
