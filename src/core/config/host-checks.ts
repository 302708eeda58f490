import { accessSync, constants, statSync } from 'node:fs';
import { ConfigError } from '../../errors';
import { isBridge, linkExists } from '../../host/ip';
import { listLoops } from '../../host/loop';
import { readPartitionTable, type PartitionTable } from '../partition-table';
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
export function checkDisksAndNetwork(cfg: SubhostConfig, others: OtherSubhost[]): Map<string, PartitionTable> {
  const tables = new Map<string, PartitionTable>();
  const attached = listLoops();
  cfg.disks.forEach((d, i) => {
    const what = `DISKS[${i}]`;
    const element = `${d.dev}:${d.part}:${d.image}`;
    let st;
    try {
      st = statSync(d.image);
    } catch {
      fail(what, element, `image ${d.image} does not exist`);
    }
    if (!st.isFile() && !st.isBlockDevice()) fail(what, element, `${d.image} is not a regular file or block device`);
    try {
      accessSync(d.image, constants.R_OK | constants.W_OK);
    } catch {
      fail(what, element, `image ${d.image} is not readable and writable`);
    }
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
    const user = others.find((o) => o.config.disks.some((x) => x.image === d.image));
    if (user) fail(what, element, `image ${d.image} is in use by subhost ${user.name}`);
    const loop = attached.find((l) => l.backingFile === d.image);
    if (loop) fail(what, element, `image ${d.image} is already attached to ${loop.dev} (in use, or left over: \`subhost check-mounts\`)`);
  });
  cfg.bridges.forEach((b, i) => {
    const what = `BRIDGES[${i}]`;
    const element = b.derivedMac ? b.bridge : `${b.bridge}:${b.mac}`;
    if (!linkExists(b.bridge)) fail(what, element, `bridge ${b.bridge} does not exist`);
    if (!isBridge(b.bridge)) fail(what, element, `${b.bridge} is not a bridge`);
    const user = others.find((o) => o.config.bridges.some((x) => x.mac === b.mac));
    if (user) fail(what, element, `MAC ${b.mac} is already used by subhost ${user.name}`);
  });
  return tables;
}
