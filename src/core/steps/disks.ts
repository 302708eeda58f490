import { SubhostError } from '../../errors';
import { attachLoop, blockNumbers, detachLoop, detachLoops, kernelPartition, kernelPartitionExtent, loopInfo } from '../../host/loop';
import type { AppliedStep } from '../state/records';
import type { StepHandler } from '../plan/executor';
import { identityOf } from '../../host/file-identity';
import { resultOf, type SubhostContext } from './context';

declare module '../plan/subhost-steps' {
  interface SubhostStepKinds {
    'loop-attach': LoopParams;
    partition: PartitionParams;
  }
}

export interface LoopParams {
  image: string;
  /** false: no partition scan (offset loops forced); absent: scan. */
  partscan?: boolean;
}
export interface LoopResult {
  dev: string;
}

export interface PartitionParams {
  image: string;
  part: number;
  /** Device node inside the subhost: vda1. */
  node: string;
  /** From our own reading of the partition table, for kernels that do not scan partitions. */
  offset: number;
  size: number;
  loop: string;
  /** A loop at the offset even where the kernel parsed the table (SUBHOST_FORCE_OFFSET_LOOPS=1). */
  offsetLoop?: boolean;
}
export interface PartitionResult {
  dev: string;
  major: number;
  minor: number;
  /** True when this step attached its own offset loop (kernel without partition parsers). */
  ownLoop: boolean;
  /** The device holds exactly the image's bytes [offset, offset+size) that the host checks probed (the whole image for part 0). */
  probedBytes?: boolean;
}

/**
 * SUBHOST_FORCE_OFFSET_LOOPS=1: partitions as loops at their offsets, read from subhost's own
 * reading of the table, also on kernels with partition parsers (so both paths can be tested on
 * any kernel; and no kernel parser reads a guest's partition table).
 */
export function forceOffsetLoops(env: NodeJS.ProcessEnv): boolean {
  return env.SUBHOST_FORCE_OFFSET_LOOPS === '1';
}

/** The loop still holds our image (by identity: the kernel names a symlinked image by its target) at our offset: loop numbers are reused. */
function holdsOurs(dev: string, image: string, offset: number): boolean {
  const l = loopInfo(dev);
  return l !== undefined && l.offset === offset && identityOf(l.backingFile) !== undefined && identityOf(l.backingFile) === identityOf(image);
}

/** Detach only if the loop still holds our image at our offset. */
export async function detachIfOurs(dev: string, image: string, offset: number): Promise<void> {
  if (holdsOurs(dev, image, offset)) await detachLoop(dev);
}

/**
 * stop: every loop device the applied steps attached that still holds our image at our offset,
 * detached by one losetup (a partition's offset loop and its image's loop are independent
 * devices); their undos then find nothing left to do. Without it each undo spawns its own, one
 * after the other (a partition's undo goes before its image's).
 */
export async function detachAppliedLoops(applied: AppliedStep[]): Promise<void> {
  const devs: string[] = [];
  for (const a of applied) {
    if (a.kind === 'loop-attach' && a.result) {
      const r = a.result as LoopResult;
      if (holdsOurs(r.dev, (a.params as LoopParams).image, 0)) devs.push(r.dev);
    } else if (a.kind === 'partition' && (a.result as PartitionResult | null)?.ownLoop) {
      const p = a.params as PartitionParams;
      const r = a.result as PartitionResult;
      if (holdsOurs(r.dev, p.image, p.offset)) devs.push(r.dev);
    }
  }
  if (devs.length > 1) await detachLoops(devs);
}

/** A kernel partition's extent (sysfs start and size, in 512-byte sectors) is [offset, offset+size) of the image. */
export function sameExtent(extent: { start: number; sectors: number } | undefined, p: { offset: number; size: number }): boolean {
  return extent !== undefined && extent.start * 512 === p.offset && extent.sectors * 512 === p.size;
}

export const loopAttach: StepHandler<LoopParams, LoopResult, SubhostContext> = {
  async apply(p) {
    return { dev: await attachLoop(p.image, { partscan: p.partscan !== false }) };
  },
  async undo(p, r) {
    if (r) await detachIfOurs(r.dev, p.image, 0);
  },
};

export const partitionDevice: StepHandler<PartitionParams, PartitionResult, SubhostContext> = {
  async apply(p, ctx) {
    const whole = resultOf<LoopResult>(ctx, p.loop).dev;
    let dev = p.part === 0 ? whole : p.offsetLoop ? undefined : kernelPartition(whole, p.part);
    let ownLoop = false;
    if (!dev) {
      dev = await attachLoop(p.image, { offset: p.offset, sizeLimit: p.size });
      ownLoop = true;
    }
    const numbers = blockNumbers(dev);
    if (!numbers) {
      if (ownLoop) await detachLoop(dev);
      throw new SubhostError(`no device numbers for ${dev} in /sys/block`);
    }
    // The kernel's own parser may read a hostile table otherwise than libblkid did.
    const probedBytes = p.part === 0 || ownLoop || sameExtent(kernelPartitionExtent(dev), p);
    return { dev, ...numbers, ownLoop, probedBytes };
  },
  async undo(p, r) {
    if (r?.ownLoop) await detachIfOurs(r.dev, p.image, p.offset);
  },
};
