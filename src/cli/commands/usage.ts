import type { Command } from 'commander';
import { UsageError } from '../../errors';
import { collectUsage } from '../../core/usage/collect';
import { formatPrometheus } from '../../core/usage/metrics';
import type { Runtime } from '../../core/state/runtime';
import { out, outText, printJson } from '../format/output';
import { usageTable } from '../format/usage-table';

export default async function usageCommand(rt: Runtime, [names]: [string[]], cmd: Command): Promise<number> {
  const opts = cmd.opts<{ json?: boolean; prometheus?: boolean }>();
  if (opts.json && opts.prometheus) throw new UsageError('usage: --json and --prometheus exclude each other');
  const records = collectUsage(rt, names);
  if (opts.json) printJson(records);
  else if (opts.prometheus) outText(formatPrometheus(records));
  else usageTable(records).forEach((l) => out(l));
  return 0;
}
