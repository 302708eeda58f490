import type { Command } from 'commander';
import { withContext } from '../../errors';
import { gntStart } from '../../ganeti/start';
import { mappingLines } from '../../ganeti/mapping';
import type { Runtime } from '../../core/state/runtime';
import { out, warn } from '../format/output';

export default async function gntStartCommand(rt: Runtime, [instance]: [string], cmd: Command): Promise<number> {
  const r = await withContext(`gnt-start ${instance}`, () => gntStart(rt, instance, { dryRun: cmd.opts<{ dryRun?: boolean }>().dryRun }));
  mappingLines(r.mapping).forEach((l) => out(l));
  if (r.dryRun) return 0;
  for (const w of r.record.warnings) warn(`${r.mapping.subhost}: ${w}`);
  out(`${r.mapping.subhost}: booted, PID 1 is ${r.record.pid1?.pid}`);
  return 0;
}
