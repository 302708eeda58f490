import type { Command } from 'commander';
import { boot } from '../../core/lifecycle/boot';
import { formatPlan } from '../../core/plan/types';
import type { Runtime } from '../../core/state/runtime';
import { UsageError } from '../../errors';
import { finish, forEachName } from '../each';
import { out, warn } from '../format/output';

export default async function bootCommand(rt: Runtime, [names]: [string[]], cmd: Command): Promise<number> {
  const opts = cmd.opts<{ config?: string; dryRun?: boolean; parallel: number }>();
  if (opts.config && names.length > 1) throw new UsageError('--config applies to one NAME, not a batch');
  const failures = await forEachName(names, opts.parallel, async (name) => {
    const r = await boot(rt, name, { configFile: opts.config, dryRun: opts.dryRun });
    if (r.dryRun) {
      out(formatPlan(r.plan));
      return;
    }
    for (const w of r.record.warnings) warn(`${name}: ${w}`);
    out(`${name}: booted, PID 1 is ${r.record.pid1?.pid}`);
  });
  return finish(names, failures);
}
