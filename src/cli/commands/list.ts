import type { Command } from 'commander';
import { describeAll } from '../../core/inspect/info';
import type { Runtime } from '../../core/state/runtime';
import { listTable } from '../format/format';
import { out, printJson } from '../format/output';

export default async function listCommand(rt: Runtime, _args: unknown[], cmd: Command): Promise<number> {
  const infos = await describeAll(rt);
  if (cmd.opts<{ json?: boolean }>().json) printJson(infos);
  else if (infos.length === 0) out(`no subhosts in ${rt.paths.root}`);
  else listTable(infos).forEach((l) => out(l));
  return 0;
}
