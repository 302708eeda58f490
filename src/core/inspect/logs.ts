import { existsSync, readFileSync } from 'node:fs';
import { SubhostError } from '../../errors';
import { isLocked } from '../../host/flock';
import { followFile } from '../../host/tail';
import { checkName } from '../config/names';
import type { Runtime } from '../state/runtime';
import { deriveState, readState } from '../state/records';

export interface LogsOutput {
  write(chunk: Buffer): void;
  warn(line: string): void;
}

/** `subhost logs NAME [-f]`: the last boot's console and this one's; with follow, until NAME stops. Returns the exit status. */
export async function showLogs(rt: Runtime, name: string, follow: boolean, out: LogsOutput): Promise<number> {
  checkName(name);
  const log = rt.paths.consoleLog(name);
  if (!existsSync(log)) throw new SubhostError(`subhost ${name} has no console log (it has not been booted since the host started)`);
  const running = () => {
    const rec = readState(rt.paths, name);
    return rec?.mode === 'boot' && deriveState(rec).state === 'running';
  };
  if (readState(rt.paths, name)?.mode === 'start') out.warn(`${name} runs a shell under \`subhost start\`, whose console is its terminal: this is the log of its last boot`);
  if (existsSync(`${log}.1`)) out.write(readFileSync(`${log}.1`));
  // While NAME runs, across a guest's reboot (its lock is held while it is released and booted
  // again, and tail -F picks up the new log); else what is there.
  if (follow && running()) return followFile(log, async () => running() || (await isLocked(rt.paths.lockFile(name))));
  out.write(readFileSync(log));
  return 0;
}
