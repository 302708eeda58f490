import type { Command } from 'commander';
import { showLogs } from '../../core/inspect/logs';
import type { Runtime } from '../../core/state/runtime';
import { warn } from '../format/output';

export default async function logsCommand(rt: Runtime, [name]: [string], cmd: Command): Promise<number> {
  return showLogs(rt, name, Boolean(cmd.opts<{ follow?: boolean }>().follow), { write: (b) => process.stdout.write(b), warn });
}
