import { mkdirSync } from 'node:fs';
import { SubhostError } from '../../errors';
import { isMountPoint, readMountinfo } from '../../host/mountinfo';
import { mount, umountTree } from '../../host/mount';
import type { StepHandler } from '../plan/executor';
import { resultOf, type SubhostContext } from './context';
import type { PartitionResult } from './disks';

export interface MountRootParams {
  /** Step id of the partition to mount. */
  source: string;
  target: string;
}

export async function undoMount(target: string): Promise<void> {
  const left = await umountTree(target);
  if (left.length) throw new SubhostError(`could not unmount ${left.join(', ')}`);
}

export const mountRoot: StepHandler<MountRootParams, { target: string }, SubhostContext> = {
  check(p, ctx) {
    if (isMountPoint(readMountinfo(), p.target)) throw new SubhostError(`${p.target} is already a mount point (left over? \`subhost stop ${ctx.name}\` releases it)`);
  },
  async apply(p, ctx) {
    const dev = resultOf<PartitionResult>(ctx, p.source).dev;
    mkdirSync(p.target, { recursive: true, mode: 0o755 });
    await mount(dev, p.target, { options: ['nodev'] });
    return { target: p.target };
  },
  async undo(p) {
    await undoMount(p.target);
  },
};
