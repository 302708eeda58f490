import { SubhostError } from '../../errors';
import { attachLoop, blockNumbers, detachLoop, kernelPartition, loopInfo } from '../../host/loop';
import type { StepHandler } from '../plan/executor';
import { identityOf } from '../../identity/file-identity';
import { resultOf, type SubhostContext } from './context';

export interface LoopParams {
  image: string;
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
}
export interface PartitionResult {
  dev: string;
  major: number;
  minor: number;
  /** True when this step attached its own offset loop (kernel without partition parsers). */
  ownLoop: boolean;
}

/** Detach only if the loop still holds our image (by identity: the kernel names a symlinked image by its target) at our offset: loop numbers are reused. */
export async function detachIfOurs(dev: string, image: string, offset: number): Promise<void> {
  const l = loopInfo(dev);
  if (l && l.offset === offset && identityOf(l.backingFile) !== undefined && identityOf(l.backingFile) === identityOf(image)) await detachLoop(dev);
}

export const loopAttach: StepHandler<LoopParams, LoopResult, SubhostContext> = {
  async apply(p) {
    return { dev: await attachLoop(p.image, { partscan: true }) };
  },
  async undo(p, r) {
    if (r) await detachIfOurs(r.dev, p.image, 0);
  },
};

export const partitionDevice: StepHandler<PartitionParams, PartitionResult, SubhostContext> = {
  async apply(p, ctx) {
    const whole = resultOf<LoopResult>(ctx, p.loop).dev;
    let dev = p.part === 0 ? whole : kernelPartition(whole, p.part);
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
    return { dev, ...numbers, ownLoop };
  },
  async undo(p, r) {
    if (r?.ownLoop) await detachIfOurs(r.dev, p.image, p.offset);
  },
};
