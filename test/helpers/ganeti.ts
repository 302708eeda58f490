import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { BASE_PATH, run } from '../../src/host/exec';
import { BIN, cli, type CliOptions, type CliResult } from './cli';
import { PREFIX } from './env';
import { createBusyboxTree } from './fixtures';

/**
 * The test run's one Ganeti cluster (ganeti-cluster.sh): built by the first Ganeti test file,
 * kept for the next, torn down by the global teardown before the leak check.
 */
export const CLUSTER_SCRIPT = join(__dirname, 'ganeti-cluster.sh');
export { GNT_RUN } from './ganeti-leaks';
import { GNT_RUN } from './ganeti-leaks';
export const NODE = 'node1.gnt.test';
export const MASTER = 'cluster.gnt.test';
export const BRIDGE = `${PREFIX}gbr0`;
export const OS = `subhost-test-${PREFIX}`;
export const UTS = join(GNT_RUN, 'uts');
export const SSH_CONFIG = join(GNT_RUN, 'ssh', 'config');
const scriptEnv = { SUBHOST_TEST_PREFIX: PREFIX, SUBHOST_TEST_PATH: `${dirname(BIN)}:${BASE_PATH}` };

/** Up (idempotent): a busybox tree for the OS definition to write into each new instance's disk 0. */
export async function clusterUp(): Promise<void> {
  const tree = join(GNT_RUN, 'bbroot');
  if (!existsSync(join(tree, 'bin/busybox'))) await createBusyboxTree(tree);
  await run(['bash', CLUSTER_SCRIPT, 'up', tree], { env: scriptEnv, timeoutMs: 180_000 });
}


export const gnt = (argv: string[]) => run(argv, { timeoutMs: 120_000 });

export interface InstanceOptions {
  mac: string;
  link?: string;
  /** blockdev: adopt a fresh loop device (through a symlink under /dev/disk, as Ganeti requires). */
  template?: 'file' | 'blockdev';
  sizeMiB?: number;
}

/** gnt-instance add, stopped, on the one node; returns the disk 0 path for blockdev. */
export async function addInstance(name: string, o: InstanceOptions): Promise<void> {
  const size = o.sizeMiB ?? 64;
  let disk = `0:size=${size}m`;
  if (o.template === 'blockdev') {
    // Ganeti runs no OS create on adopted disks: they hold their data already, written here.
    const img = join(GNT_RUN, 'blockdev', `${name}.img`);
    mkdirSync(dirname(img), { recursive: true });
    await run(['truncate', '-s', `${size}M`, img]);
    await run(['sfdisk', '-q', img], { input: 'start=2048, type=83\n' });
    await run(['mke2fs', '-q', '-F', '-t', 'ext4', '-b', '4096', '-E', 'offset=1048576', '-d', join(GNT_RUN, 'bbroot'), img, String((size - 1) * 256)]);
    const loop = (await run(['losetup', '--show', '-f', img])).stdout.trim();
    const link = join('/dev/disk', OS, name);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(loop, link);
    disk = `0:adopt=${link}`;
  }
  await gnt(['gnt-instance', 'add', '-t', o.template ?? 'file', '--disk', disk, '-o', OS, '-n', NODE, '--no-name-check', '--no-ip-check', '--no-start', '--net', `0:mac=${o.mac},link=${o.link ?? BRIDGE}`, '-B', 'memory=64', name]);
}

export async function removeInstance(name: string): Promise<void> {
  await run(['gnt-instance', 'remove', '-f', name], { allowFailure: true, timeoutMs: 120_000 });
}

export async function disksActive(name: string): Promise<boolean> {
  return (await gnt(['gnt-instance', 'list', '--no-headers', '-o', 'disks_active', name])).stdout.trim() === 'Y';
}

/** bin/subhost as run on the node: in its UTS namespace, so this host's name is the node's. */
export function onNode(args: string[], opts: CliOptions = {}): CliResult {
  return cli(args, { ...opts, via: ['nsenter', `--uts=${UTS}`] });
}

export function okOnNode(args: string[], opts: CliOptions = {}): CliResult {
  const r = onNode(args, opts);
  if (r.code !== 0) throw new Error(`subhost ${args.join(' ')} on the node exited ${r.code}: ${r.stderr}${r.stdout}`);
  return r;
}
