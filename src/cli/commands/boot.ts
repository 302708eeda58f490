import type { Command } from 'commander';
import { boot } from '../../core/lifecycle/boot';
import { formatPlan } from '../../core/plan/types';
import type { Runtime } from '../../core/runtime';
import { out, warn } from '../output';

export default async function bootCommand(rt: Runtime, [name]: [string], cmd: Command): Promise<number> {
  const opts = cmd.opts<{ config?: string; dryRun?: boolean }>();
  const r = await boot(rt, name, { configFile: opts.config, dryRun: opts.dryRun });
  if (r.dryRun) {
    out(formatPlan(r.plan));
    return 0;
  }
  for (const w of r.record.warnings) warn(`${name}: ${w}`);
  out(`${name}: booted, PID 1 is ${r.record.pid1?.pid}`);
  return 0;
}
