import type { Command } from 'commander';
import { describe } from '../../core/lifecycle/info';
import { checkName } from '../../core/names';
import type { Runtime } from '../../core/runtime';
import { statusLines } from '../format';
import { out, printJson } from '../output';

export default async function statusCommand(rt: Runtime, [name]: [string], cmd: Command): Promise<number> {
  checkName(name);
  const info = await describe(rt, name, { usage: true });
  if (cmd.opts<{ json?: boolean }>().json) printJson(info);
  else statusLines(info).forEach((l) => out(l));
  return 0;
}
