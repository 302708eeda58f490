import { accessSync, constants, statSync } from 'node:fs';
import { ConfigError } from '../../errors';
import { isBridge, linkExists } from '../../host/ip';
import { type PartitionTable, partitionProblem } from '../storage/partition-table';
import { ImageProbes } from './image-probes';
import { identityOf, type Identity } from '../../host/file-identity';
import { inUseBy } from '../storage/in-use';
import type { LoopIdentity } from '../../host/loop-identity';
import type { SubhostConfig } from './types';
import { claimedIdentity, type SubhostClaims } from '../storage/claims';

function fail(what: string, element: string, why: string): never {
  throw new ConfigError(`${what} (${JSON.stringify(element)}): ${why}`);
}

/**
 * Why an image cannot be used, or undefined: it must exist, be a regular file (or, for DISKS, a
 * block device), be readable and writable — by its permission bits too, which root's access(2)
 * ignores: an image made read-only is never mounted read-write — and nothing on the host may use
 * it: no loop device has it and, for a block device, the host neither mounts nor holds it
 * (compared by identity, however the path is spelled). Read-only.
 */
export function imageProblem(image: string, blockDeviceOk: boolean, loops: LoopIdentity[]): string | undefined {
  let st;
  try {
    st = statSync(image);
  } catch {
    return 'does not exist';
  }
  if (!st.isFile() && !(blockDeviceOk && st.isBlockDevice())) return blockDeviceOk ? 'is not a regular file or block device' : 'is not a regular file';
  try {
    accessSync(image, constants.R_OK | constants.W_OK);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EROFS' ? 'is on a read-only filesystem' : 'is not readable and writable';
  }
  if (st.isFile() && (st.mode & 0o222) === 0) return 'has no write permission (it would be mounted read-write: `chmod u+w` it to let the subhost write it)';
  const id = identityOf(image);
  return id ? inUseBy(id, loops) : 'does not exist';
}

/**
 * Everything that can be checked before the host is touched, read-only: images, partitions,
 * bridges, MACs and images against other subhosts. Returns the partition tables for the plan.
 * The image reads come from probes (started early by startImageProbes, or run here).
 */
export async function checkDisksAndNetwork(cfg: SubhostConfig, others: SubhostClaims[], loops: LoopIdentity[], probes = new ImageProbes()): Promise<Map<string, PartitionTable>> {
  const tables = new Map<string, PartitionTable & { size: number }>();
  const seen = new Map<Identity, { i: number; dev: string; part: number }>();
  const othersImages = others.flatMap((o) => o.images.map((_, i) => ({ name: o.name, id: claimedIdentity(o, i) })));
  for (const [i, d] of cfg.disks.entries()) {
    const what = `DISKS[${i}]`;
    const element = `${d.dev}:${d.part}:${d.image}`;
    const id = identityOf(d.image);
    const user = id && othersImages.find((o) => o.id === id);
    if (user) fail(what, element, `image ${d.image} is in use by subhost ${user.name}`);
    const problem = imageProblem(d.image, true, loops);
    if (problem || !id) fail(what, element, `image ${d.image} ${problem ?? 'does not exist'}`);
    // One image is one disk: its partitions may be listed one by one, but never under two names, twice, or whole beside a part.
    const prev = seen.get(id);
    if (prev && (prev.dev !== d.dev || prev.part === 0 || d.part === 0 || prev.part === d.part)) {
      fail(what, element, `image ${d.image} is the same image as DISKS[${prev.i}]'s (mounting one filesystem twice corrupts it)`);
    }
    seen.set(id, { i, dev: d.dev, part: d.part });
    let table = tables.get(d.image);
    if (!table) {
      try {
        table = await probes.table(d.image);
      } catch (err) {
        fail(what, element, `cannot read ${d.image}: ${(err as Error).message}`);
      }
      tables.set(d.image, table);
    }
    const part = table.partitions.find((p) => p.index === d.part);
    if (d.part > 0 && !part) {
      const have = table.partitions.map((p) => p.index);
      fail(what, element, `partition ${d.part} does not exist in ${d.image} (${table.scheme === 'none' ? 'it has no partition table' : have.length ? `it has partition${have.length > 1 ? 's' : ''} ${have.join(', ')}` : 'its partition table is empty'})`);
    }
    // The table is the image's own, so untrusted: a partition must lie inside the image.
    const outside = part && partitionProblem(part, table.size);
    if (outside) fail(what, element, `partition ${d.part} of ${d.image} ${outside}`);
    if (i === 0) {
      const [offset, size] = [part?.offset ?? 0, part?.size ?? 0];
      const { type, problem } = await probes.type(d.image, offset, size);
      if (problem || !type) fail(what, element, `${d.part ? `partition ${d.part} of ` : ''}${d.image} ${problem}`);
      tables.set(d.image, { ...table, rootType: { offset, size, type } });
    }
  }
  cfg.bridges.forEach((b, i) => {
    const what = `BRIDGES[${i}]`;
    const element = b.derivedMac ? b.bridge : `${b.bridge}:${b.mac}`;
    if (!linkExists(b.bridge)) fail(what, element, `bridge ${b.bridge} does not exist`);
    if (!isBridge(b.bridge)) fail(what, element, `${b.bridge} is not a bridge`);
    const user = others.find((o) => o.macs.includes(b.mac));
    if (user) fail(what, element, `MAC ${b.mac} is already used by subhost ${user.name}`);
  });
  cfg.addresses?.forEach((a, i) => {
    const user = a && others.find((o) => o.ips.includes(a.ip));
    if (user) fail(`ADDRESSES[${i}]`, a!.cidr, `address ${a!.ip} is already used by subhost ${user.name}`);
  });
  return tables;
}
