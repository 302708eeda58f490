import { autostart, type AutostartResult } from '../../core/lifecycle/autostart';
import type { Runtime } from '../../core/state/runtime';
import { errLine, out } from '../format/output';
import type { Command } from 'commander';

/** One line per subhost as soon as it is done (the journal shows which one failed, and why). */
function report(r: AutostartResult): void {
  if (r.outcome === 'failed') errLine(`subhost: ${r.name}: ${r.message}`);
  else out(`${r.name}: ${r.outcome === 'booted' ? 'booted' : 'already running'}`);
}

export default async function autostartCommand(rt: Runtime, _args: unknown, cmd: Command): Promise<number> {
  const results = await autostart(rt, cmd.opts<{ parallel: number }>().parallel, report);
  if (!results.length) out('no subhost has AUTOSTART=yes');
  return results.some((r) => r.outcome === 'failed') ? 1 : 0;
}
