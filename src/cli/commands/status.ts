import type { Command } from 'commander';
import { describe } from '../../core/lifecycle/info';
import { subhostUsage } from '../../core/usage/collect';
import { checkName } from '../../core/names';
import type { Runtime } from '../../core/runtime';
import { statusLines } from '../format';
import { out, printJson } from '../output';

export default async function statusCommand(rt: Runtime, [name]: [string], cmd: Command): Promise<number> {
  checkName(name);
  const info = await describe(rt, name);
  if (info.state !== 'stopped') info.usage = subhostUsage(rt, name);
  if (cmd.opts<{ json?: boolean }>().json) printJson(info);
  else statusLines(info).forEach((l) => out(l));
  return 0;
}
