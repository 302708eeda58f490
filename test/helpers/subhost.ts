import { procRef, type ProcRef } from '../../src/host/proc';
import { cli, ok, type CliResult } from './cli';
import { waitFor } from './env';

/** A shell command inside a running subhost, through `subhost enter`. */
export function enterSh(root: string, name: string, script: string): CliResult {
  return cli(['enter', name, '--', '/bin/sh', '-c', script], { root });
}

/** `subhost status NAME --json`, parsed. */
export function statusOf(root: string, name: string): any {
  return JSON.parse(ok(['status', name, '--json'], { root }).stdout);
}

/** Boot, and wait until the guest's rc 2 is done (its processes hold still then); returns PID 1. */
export async function bootAndSettle(root: string, name: string): Promise<ProcRef> {
  ok(['boot', name], { root });
  await waitFor('rc 2 to finish', () => enterSh(root, name, 'cat /run/rc.ran').stdout.trim() === '2');
  return procRef(statusOf(root, name).pid1)!;
}
