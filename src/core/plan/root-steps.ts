import type { SubhostConfig } from '../config/types';
import { imageFolders, type Layout } from '../storage/layout';
import type { PartitionTable } from '../storage/partition-table';
import type { SubhostStep } from './subhost-steps';

export function deviceNode(dev: string, part: number): string {
  return part === 0 ? dev : `${dev}${part}`;
}

/**
 * Disk images: loop devices with partition scan, each DISKS partition found, the first mounted on
 * live. offsetLoops: every partition a loop at its offset, and no partition scan, even where the
 * kernel parses partition tables (SUBHOST_FORCE_OFFSET_LOOPS=1).
 */
function diskSteps(cfg: SubhostConfig, live: string, tables: Map<string, PartitionTable>, offsetLoops: boolean): SubhostStep[] {
  const steps: SubhostStep[] = [];
  const images = [...new Set(cfg.disks.map((d) => d.image))];
  for (const image of images) {
    const describe = `attach ${image} to a loop device${offsetLoops ? '' : ' with partition scan'}`;
    steps.push({ kind: 'loop-attach', id: `loop:${image}`, describe, params: offsetLoops ? { image, partscan: false } : { image } });
  }
  for (const d of cfg.disks) {
    const node = deviceNode(d.dev, d.part);
    const part = tables.get(d.image)?.partitions.find((p) => p.index === d.part);
    const describe =
      d.part === 0
        ? `use the whole of ${d.image} as /dev/${node}`
        : offsetLoops
          ? `attach partition ${d.part} of ${d.image} for /dev/${node} to a loop at offset ${part?.offset} (${part?.size} bytes), as forced by SUBHOST_FORCE_OFFSET_LOOPS`
          : `find partition ${d.part} of ${d.image} for /dev/${node}: the kernel's, or a loop at offset ${part?.offset} (${part?.size} bytes)`;
    const params = { image: d.image, part: d.part, node, offset: part?.offset ?? 0, size: part?.size ?? 0, loop: `loop:${d.image}`, ...(offsetLoops ? { offsetLoop: true } : {}) };
    steps.push({ kind: 'partition', id: `disk:${node}`, describe, params });
  }
  const first = cfg.disks[0];
  const rootNode = deviceNode(first.dev, first.part);
  // The checks probed the root's bytes: its partition step says whether its device holds exactly those.
  const probed = tables.get(first.image)?.rootType;
  const rootPart = tables.get(first.image)?.partitions.find((p) => p.index === first.part);
  const type = probed && probed.offset === (rootPart?.offset ?? 0) && probed.size === (rootPart?.size ?? 0) ? probed.type : undefined;
  const describe = `mount /dev/${rootNode} (${first.image}) on ${live}${type ? ` as ${type}` : ''}`;
  steps.push({ kind: 'mount-root', id: 'root', describe, params: { source: `disk:${rootNode}`, target: live, ...(type ? { probedType: type } : {}) } });
  return steps;
}

/**
 * The steps that put the root filesystem on live, chosen by layout (pure). Everything after
 * them (cgroup, network, PID 1) is the same for every layout.
 */
export function rootSteps(cfg: SubhostConfig, layout: Layout, tables: Map<string, PartitionTable>, offsetLoops = false): SubhostStep[] {
  if (layout.kind === 'disk') return diskSteps(cfg, layout.live, tables, offsetLoops);
  const steps: SubhostStep[] = [];
  if (layout.imageFile) {
    if (!layout.mnt) throw new Error('internal: a layout with NAME.img but no mount point for it');
    const folders = imageFolders(layout);
    steps.push({
      kind: 'mount-image',
      id: 'image',
      describe: `mount ${layout.imageFile} on ${layout.mnt} (it holds ${folders.map((f) => `${f}/`).join(' and ')})`,
      params: { image: layout.imageFile, target: layout.mnt, folders },
    });
  }
  if (layout.kind === 'overlay') {
    if (!layout.base || !layout.work) throw new Error('internal: an overlay layout without BASE or work folder');
    steps.push({
      kind: 'mount-overlay',
      id: 'root',
      describe: `mount an overlay on ${layout.live}: ${layout.writable} (writable, work dir ${layout.work}) over ${layout.base} (read-only)`,
      params: { source: `subhost-${cfg.name}`, base: layout.base, upper: layout.writable, work: layout.work, target: layout.live },
    });
  } else {
    steps.push({ kind: 'bind-root', id: 'root', describe: `rbind ${layout.writable} on ${layout.live}, private`, params: { source: layout.writable, target: layout.live } });
  }
  return steps;
}
