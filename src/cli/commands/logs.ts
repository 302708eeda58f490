import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { SubhostError } from '../../errors';
import { isAlive } from '../../host/proc';
import { checkName } from '../../core/names';
import type { Runtime } from '../../core/runtime';
import { readState } from '../../core/state';
import { logPath } from '../../core/steps/init';

export default async function logsCommand(rt: Runtime, [name]: [string], cmd: Command): Promise<number> {
  checkName(name);
  const log = logPath(rt.paths.run, name);
  if (!existsSync(log)) throw new SubhostError(`subhost ${name} has no console log (it has not been booted since the host started)`);
  const rec = readState(rt.paths, name);
  const follow = cmd.opts<{ follow?: boolean }>().follow && rec?.supervisor && isAlive(rec.supervisor);
  if (existsSync(`${log}.1`)) process.stdout.write(readFileSync(`${log}.1`));
  if (!follow) {
    process.stdout.write(readFileSync(log));
    return 0;
  }
  // tail -F follows the log across rotation and ends with the supervisor.
  return new Promise((resolve) => {
    const child = spawn('tail', ['-n', '+1', '-F', `--pid=${rec!.supervisor!.pid}`, log], { stdio: ['ignore', 'inherit', 'ignore'] });
    process.on('SIGINT', () => child.kill('SIGTERM'));
    child.on('exit', () => resolve(0));
  });
}
