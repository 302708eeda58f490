import type { Command } from 'commander';
import { describe } from '../../core/inspect/info';
import { checkName } from '../../core/config/names';
import type { Runtime } from '../../core/state/runtime';
import { statusLines } from '../format/format';
import { out, printJson } from '../format/output';

export default async function statusCommand(rt: Runtime, [name]: [string], cmd: Command): Promise<number> {
  checkName(name);
  const info = await describe(rt, name, { usage: true });
  if (cmd.opts<{ json?: boolean }>().json) printJson(info);
  else statusLines(info).forEach((l) => out(l));
  return 0;
}
