import type { Command } from 'commander';
import { withContext } from '../../errors';
import { gntStop } from '../../ganeti/stop';
import type { Runtime } from '../../core/state/runtime';
import { out, warn } from '../format/output';

export default async function gntStopCommand(rt: Runtime, [instance]: [string], cmd: Command): Promise<number> {
  const { timeout } = cmd.opts<{ timeout: number }>();
  const r = await withContext(`gnt-stop ${instance}`, () => gntStop(rt, instance, timeout));
  if (r.killed) warn(`${r.subhost}: did not power off within ${timeout} s; killed`);
  const was = { 'powered-off': 'powered off', released: 'released (it had failed)', stopped: 'already stopped' }[r.subhostWas];
  out(`${r.subhost}: ${was}; disks of ${r.instance} ${r.disksDeactivated ? 'deactivated' : 'left active (Ganeti runs it)'}`);
  return 0;
}
