import { accessSync, constants, statSync } from 'node:fs';
import { ConfigError } from '../../errors';
import { isBridge, linkExists } from '../../host/ip';
import { listLoops, type LoopDevice } from '../../host/loop';
import { readPartitionTable, type PartitionTable } from '../storage/partition-table';
import type { SubhostConfig } from './types';

/** Another active subhost, as far as conflicts go. */
export interface OtherSubhost {
  name: string;
  config: SubhostConfig;
}

function fail(what: string, element: string, why: string): never {
  throw new ConfigError(`${what} (${JSON.stringify(element)}): ${why}`);
}

/**
 * Everything that can be checked before the host is touched, read-only: images, partitions,
 * bridges, MACs and images against other subhosts. Returns the partition tables for the plan.
 */
/**
 * Why an image cannot be used, or undefined: it must exist, be a regular file (or, for DISKS, a
 * block device), be readable and writable, and be attached to no loop device yet. Read-only.
 */
export function imageProblem(image: string, blockDeviceOk: boolean, attached: () => LoopDevice[]): string | undefined {
  let st;
  try {
    st = statSync(image);
  } catch {
    return 'does not exist';
  }
  if (!st.isFile() && !(blockDeviceOk && st.isBlockDevice())) return blockDeviceOk ? 'is not a regular file or block device' : 'is not a regular file';
  try {
    accessSync(image, constants.R_OK | constants.W_OK);
  } catch {
    return 'is not readable and writable';
  }
  const loop = attached().find((l) => l.backingFile === image);
  return loop ? `is already attached to ${loop.dev} (in use, or left over: \`subhost check-mounts\`)` : undefined;
}

export function checkDisksAndNetwork(cfg: SubhostConfig, others: OtherSubhost[]): Map<string, PartitionTable> {
  const tables = new Map<string, PartitionTable>();
  let loops: LoopDevice[] | undefined;
  const attached = () => (loops ??= listLoops());
  cfg.disks.forEach((d, i) => {
    const what = `DISKS[${i}]`;
    const element = `${d.dev}:${d.part}:${d.image}`;
    const user = others.find((o) => o.config.disks.some((x) => x.image === d.image));
    if (user) fail(what, element, `image ${d.image} is in use by subhost ${user.name}`);
    const problem = imageProblem(d.image, true, attached);
    if (problem) fail(what, element, `image ${d.image} ${problem}`);
    let table = tables.get(d.image);
    if (!table) {
      try {
        table = readPartitionTable(d.image);
      } catch (err) {
        fail(what, element, `cannot read ${d.image}: ${(err as Error).message}`);
      }
      tables.set(d.image, table);
    }
    if (d.part > 0 && !table.partitions.some((p) => p.index === d.part)) {
      const have = table.partitions.map((p) => p.index);
      fail(what, element, `partition ${d.part} does not exist in ${d.image} (${table.scheme === 'none' ? 'it has no partition table' : have.length ? `it has partition${have.length > 1 ? 's' : ''} ${have.join(', ')}` : 'its partition table is empty'})`);
    }
  });
  cfg.bridges.forEach((b, i) => {
    const what = `BRIDGES[${i}]`;
    const element = b.derivedMac ? b.bridge : `${b.bridge}:${b.mac}`;
    if (!linkExists(b.bridge)) fail(what, element, `bridge ${b.bridge} does not exist`);
    if (!isBridge(b.bridge)) fail(what, element, `${b.bridge} is not a bridge`);
    const user = others.find((o) => o.config.bridges.some((x) => x.mac === b.mac));
    if (user) fail(what, element, `MAC ${b.mac} is already used by subhost ${user.name}`);
  });
  cfg.addresses?.forEach((a, i) => {
    const user = a && others.find((o) => o.config.addresses?.some((x) => x?.ip === a.ip));
    if (user) fail(`ADDRESSES[${i}]`, a!.cidr, `address ${a!.ip} is already used by subhost ${user.name}`);
  });
  return tables;
}
