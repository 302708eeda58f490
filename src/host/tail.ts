import { spawn } from 'node:child_process';
import { CommandError } from '../errors';
import { childEnv } from './exec';

/**
 * Print a file as it grows, across rotation (`tail -F`), until stillWanted() says no (asked every
 * half second); resolves with tail's exit status, 0 when we ended it.
 */
export function followFile(file: string, stillWanted: () => boolean | Promise<boolean>): Promise<number> {
  return new Promise((resolve, reject) => {
    const argv = ['tail', '-n', '+1', '-F', file];
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'inherit', 'pipe'], env: childEnv() });
    let stderr = '';
    let ended = false;
    // tail -F says so on stderr each time the file is rotated: only a failure's words are kept.
    child.stderr!.on('data', (b: Buffer) => (stderr = b.toString()));
    const timer = setInterval(async () => {
      if (ended || (await stillWanted())) return;
      ended = true;
      // The last lines the guest wrote reach the file a moment after it ended.
      setTimeout(() => child.kill('SIGTERM'), 300);
      clearInterval(timer);
    }, 500);
    const stop = () => child.kill('SIGTERM');
    process.once('SIGINT', stop);
    child.on('error', (e) => {
      clearInterval(timer);
      reject(new CommandError(argv, null, null, e.message));
    });
    child.on('exit', (code, signal) => {
      clearInterval(timer);
      process.off('SIGINT', stop);
      if (ended || signal === 'SIGTERM') resolve(0);
      else if (code === 0) resolve(0);
      else reject(new CommandError(argv, code, signal, stderr));
    });
  });
}
