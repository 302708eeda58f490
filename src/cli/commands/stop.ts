import type { Command } from 'commander';
import { release } from '../../core/lifecycle/stop';
import type { Runtime } from '../../core/state/runtime';
import { finish, forEachName } from '../each';
import { out } from '../format/output';

export default async function stopCommand(rt: Runtime, [names]: [string[]], cmd: Command): Promise<number> {
  const failures = await forEachName(names, cmd.opts<{ parallel: number }>().parallel, async (name) => {
    const r = await release(rt, name);
    out(r.released ? `${name}: stopped` : `${name}: already stopped`);
  });
  return finish(names, failures);
}
