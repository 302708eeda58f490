import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { listPids, readCmdline, readEnviron, readStat } from '../../src/host/proc';
import { cli, ok, spawnCli, type CliResult } from './cli';
import { waitFor } from './env';

/** Processes working for root: started with SUBHOST_ROOT=root, or with a path under it in their arguments. */
export function processesOf(root: string): { pid: number; comm: string; state: string }[] {
  return listPids()
    .filter((pid) => pid !== process.pid && (readEnviron(pid).SUBHOST_ROOT === root || readCmdline(pid).some((a) => a.startsWith(`${root}/`))))
    .map((pid) => readStat(pid))
    .flatMap((st) => (st ? [{ pid: st.pid, comm: st.comm, state: st.state }] : []));
}

/** Everything under root but the subhosts' folders: staging folders of bootstraps. */
export function stagingDirs(root: string): string[] {
  return readdirSync(root).filter((d) => d.startsWith('.bootstrap-'));
}

/**
 * Start `subhost bootstrap …` (through `via`, e.g. ip netns exec NS) and SIGKILL it once when()
 * is true; resolves once no process of root is left. A bootstrap that ends first fails the test.
 */
export async function bootstrapKilledWhen(
  root: string,
  args: string[],
  what: string,
  when: () => boolean,
  { timeoutMs = 300_000, via = [], env }: { timeoutMs?: number; via?: string[]; env?: Record<string, string> } = {},
): Promise<void> {
  const child = spawnCli(['bootstrap', ...args, '--progress', 'plain'], { root, via, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise((r) => child.on('exit', r));
  try {
    await waitFor(what, () => {
      if (child.exitCode !== null) throw new Error(`bootstrap ended (${child.exitCode}) before ${what}: ${stderr}`);
      return when();
    }, timeoutMs, 20);
  } finally {
    child.kill('SIGKILL');
  }
  await exited;
  // setpriv --pdeathsig: the children die with it, at once.
  await waitFor('the processes of the killed bootstrap to end', () => processesOf(root).length === 0, 3000);
}

export const hasProcess = (root: string, comm: string) => () => processesOf(root).some((p) => p.comm === comm);

/** A process of root named comm that has stopped itself (state T). */
export const hasStoppedProcess = (root: string, comm: string) => () => processesOf(root).some((p) => p.comm === comm && p.state === 'T');

/** Bootstrap, insisting on success. */
export function bootstrapOk(root: string, args: string[], timeoutMs = 120_000): CliResult {
  return ok(['bootstrap', ...args], { root, timeoutMs });
}

/** The guest's busybox rc records the runlevel it reached. */
export async function waitRunlevel2(root: string, name: string): Promise<void> {
  await waitFor(`${name} to reach rc 2`, () => cli(['enter', name, '--', 'cat', '/run/runlevel'], { root }).stdout.trim() === '2', 30_000);
}

export const exists = (root: string, name: string) => existsSync(join(root, name));
