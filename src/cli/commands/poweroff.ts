import type { Command } from 'commander';
import { poweroff } from '../../core/lifecycle/poweroff';
import type { Runtime } from '../../core/state/runtime';
import { out, warn } from '../format/output';

export default async function poweroffCommand(rt: Runtime, [name]: [string], cmd: Command): Promise<number> {
  const { timeout } = cmd.opts<{ timeout: number }>();
  const r = await poweroff(rt, name, timeout);
  if (r.alreadyStopped) out(`${name}: already stopped`);
  else {
    if (r.killed && r.ignored) warn(`${name}: its PID 1 does not handle the power-off signal; killed`);
    else if (r.killed) warn(`${name}: did not power off within ${timeout} s; killed`);
    out(`${name}: powered off`);
  }
  return 0;
}
