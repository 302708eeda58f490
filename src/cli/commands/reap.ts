import type { Command } from 'commander';
import { reap } from '../../core/lifecycle/reap';
import type { Runtime } from '../../core/state/runtime';
import { out } from '../format/output';

export default async function reapCommand(rt: Runtime, [name]: [string], cmd: Command): Promise<number> {
  const o = cmd.opts<{ bootId: string; status: string }>();
  await reap(rt, name, o.bootId, Number(o.status), out);
  return 0;
}
