import type { Command } from 'commander';
import { WANTED_CONTROLLERS } from '../../core/cgroups/limits';
import { setupCgroups, type SetupReport } from '../../core/vms/cgroups-setup';
import { formatPlan } from '../../core/plan/types';
import type { Runtime } from '../../core/state/runtime';
import { out, printJson } from '../format/output';
import { UsageError } from '../../errors';

export function setupLines(r: SetupReport): string[] {
  const v1 = r.v1.length ? `; cgroup v1 hierarchies: ${r.v1.map((h) => h.controllers.join(',')).join(' ')}` : '';
  const lines = [`${r.host}: cgroup2 at ${r.cgroup2}${v1}`];
  for (const p of r.parents) {
    const made = p.created.length ? 'made' : 'exists';
    const given = p.controllers.length
      ? `controllers ${p.controllers.join(' ')} for its children`
      : p.blocked.length
        ? 'no cgroup2 controllers for its children'
        : `no cgroup2 controllers for its children (cgroup2 here offers none of ${WANTED_CONTROLLERS.join(', ')})`;
    const blocked = p.blocked.length ? `; the kernel refused to enable ${p.blocked.join(' ')} (a cgroup with processes of its own, or real-time tasks outside the root, keep controllers from being handed down)` : '';
    lines.push(`${p.path}/: ${made}; ${given}${blocked}`);
  }
  for (const v of r.vms) {
    if (v.action === 'moved') lines.push(`${v.cgroup}: moved ${v.exe} PID ${v.pid}`);
    else if (v.action === 'in place') lines.push(`${v.cgroup}: ${v.exe} PID ${v.pid} already there`);
    else lines.push(`${v.action} ${v.exe} PID ${v.pid}: ${v.reason}`);
  }
  if (!r.vms.length) lines.push('no VM processes (kvm, qemu-kvm, qemu-system-*) are running');
  return lines;
}

export default async function cgroupsSetupCommand(rt: Runtime, _args: unknown[], cmd: Command): Promise<number> {
  const opts = cmd.opts<{ json?: boolean; dryRun?: boolean }>();
  if (opts.json && opts.dryRun) throw new UsageError('cgroups setup: --dry-run prints a plan; it has no --json form');
  const r = await setupCgroups(rt, { dryRun: opts.dryRun });
  if (r.dryRun) {
    out(formatPlan(r.plan));
    for (const v of r.vms) if (v.action !== 'move') out(`     ${v.exe} PID ${v.pid}: ${v.action === 'skip' ? `skipped: ${v.reason}` : `already in vm/${v.name}`}`);
    return 0;
  }
  if (opts.json) printJson(r.report);
  else setupLines(r.report).forEach((l) => out(l));
  return 0;
}
