import type { Command } from 'commander';
import { start } from '../../core/lifecycle/start';
import { formatPlan } from '../../core/plan/types';
import type { Runtime } from '../../core/state/runtime';
import { errLine, out, warn } from '../format/output';


export default async function startCommand(rt: Runtime, [name]: [string], cmd: Command): Promise<number> {
  const opts = cmd.opts<{ config?: string; dryRun?: boolean }>();
  const r = await start(rt, name, {
    configFile: opts.config,
    dryRun: opts.dryRun,
    onRunning: (record, resumed) => (resumed ? [] : record.warnings).forEach((w) => warn(`${name}: ${w}`)),
  });
  if (r.dryRun) {
    out(formatPlan(r.plan));
    return 0;
  }
  // Notes go to stderr: stdout is the shell's.
  if (r.after.end === 'hibernated') errLine(`${name}: hibernated (mounts and network kept): \`subhost start ${name}\` resumes it, \`subhost stop ${name}\` releases it`);
  else if (r.after.end === 'stopped') errLine(`${name}: stopped while its shell ran`);
  else warn(`${name}: ${r.after.reason}`);
  // Like enter: the exit status is the shell's.
  return r.status;
}
