import { mkdirSync } from 'node:fs';
import { SubhostError } from '../../errors';
import { isMountPointNow } from '../../host/mountinfo';
import { GUEST_MOUNT_OPTIONS, mount, umountTree } from '../../host/mount';
import type { StepHandler } from '../plan/executor';
import { mountableType } from '../storage/partition-table';
import { resultOf, type SubhostContext } from './context';
import type { PartitionResult } from './disks';

declare module '../plan/subhost-steps' {
  interface SubhostStepKinds {
    'mount-root': MountRootParams;
  }
}

export interface MountRootParams {
  /** Step id of the partition to mount. */
  source: string;
  target: string;
  /** blkid -p's type of the partition's bytes in the image, from the host checks: used when the device holds exactly those bytes. */
  probedType?: string;
}

export async function undoMount(target: string): Promise<void> {
  const left = await umountTree(target);
  if (left.length) throw new SubhostError(`could not unmount ${left.join(', ')}`);
}

/**
 * The check of every step that mounts on live or mnt: a mount already there is a leftover that
 * stop must release first, and a refused step is not undone, so it is left alone.
 */
export function refuseMountPoint(target: string, ctx: SubhostContext): void {
  if (isMountPointNow(target)) throw new SubhostError(`${target} is already a mount point (left over? \`subhost stop ${ctx.name}\` releases it)`);
}

/** Probed on the device itself, the bytes that are mounted: mount never guesses a type from untrusted data. */
export async function typeToMount(dev: string): Promise<string> {
  const { type, problem } = await mountableType(dev);
  if (!type) throw new SubhostError(`${dev} ${problem}`);
  return type;
}

export const mountRoot: StepHandler<MountRootParams, { target: string }, SubhostContext> = {
  check: (p, ctx) => refuseMountPoint(p.target, ctx),
  async apply(p, ctx) {
    const { dev, probedBytes } = resultOf<PartitionResult>(ctx, p.source);
    mkdirSync(p.target, { recursive: true, mode: 0o755 });
    // mount -t restricts the kernel to that driver: the type probed in the image's bytes holds for a device of those bytes.
    const type = p.probedType && probedBytes ? p.probedType : await typeToMount(dev);
    await mount(dev, p.target, { type, options: GUEST_MOUNT_OPTIONS });
    return { target: p.target };
  },
  async undo(p) {
    await undoMount(p.target);
  },
};
