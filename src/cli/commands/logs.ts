import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { SubhostError } from '../../errors';
import { followFile } from '../../host/tail';
import { checkName } from '../../core/config/names';
import type { Runtime } from '../../core/state/runtime';
import { deriveState, readState } from '../../core/state/records';
import { warn } from '../format/output';
import { isLocked } from '../../host/flock';

export default async function logsCommand(rt: Runtime, [name]: [string], cmd: Command): Promise<number> {
  checkName(name);
  const log = rt.paths.consoleLog(name);
  if (!existsSync(log)) throw new SubhostError(`subhost ${name} has no console log (it has not been booted since the host started)`);
  const running = () => {
    const rec = readState(rt.paths, name);
    return rec?.mode === 'boot' && deriveState(rec).state === 'running';
  };
  if (readState(rt.paths, name)?.mode === 'start') warn(`${name} runs a shell under \`subhost start\`, whose console is its terminal: this is the log of its last boot`);
  if (existsSync(`${log}.1`)) process.stdout.write(readFileSync(`${log}.1`));
  // While NAME runs, across a guest's reboot (its lock is held while it is released and booted
  // again, and tail -F picks up the new log); else what is there.
  if (cmd.opts<{ follow?: boolean }>().follow && running()) return followFile(log, async () => running() || (await isLocked(rt.paths.lockFile(name))));
  process.stdout.write(readFileSync(log));
  return 0;
}
