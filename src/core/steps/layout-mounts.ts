import { lstatSync, mkdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { SubhostError } from '../../errors';
import { attachLoop, detachLoop } from '../../host/loop';
import { makePrivate, mount, umount } from '../../host/mount';
import { isMountPoint, readMountinfo } from '../../host/mountinfo';
import type { StepHandler } from '../plan/executor';
import type { SubhostContext } from './context';
import { detachIfOurs } from './disks';
import { undoMount } from './mounts';

/** An empty mount point of ours; a mount already there is a leftover that stop must release first. */
function mountPointFor(target: string, name: string): void {
  mkdirSync(target, { recursive: true, mode: 0o755 });
  if (isMountPoint(readMountinfo(), target)) throw new SubhostError(`${target} is already a mount point (left over? \`subhost stop ${name}\` releases it)`);
}

function isDirectory(path: string, follow: boolean): boolean {
  try {
    return (follow ? statSync(path) : lstatSync(path)).isDirectory();
  } catch {
    return false;
  }
}

export interface MountImageParams {
  /** NAME.img */
  image: string;
  /** NAME/mnt */
  target: string;
  /** Top folders the image must hold (root, and work for an overlay). */
  folders: string[];
}
export interface MountImageResult {
  dev: string;
  target: string;
}

/** Mount NAME.img on mnt; an image without its folders is refused, and this step undoes itself. */
export const mountImage: StepHandler<MountImageParams, MountImageResult, SubhostContext> = {
  async apply(p, ctx) {
    mountPointFor(p.target, ctx.name);
    const dev = await attachLoop(p.image);
    try {
      await mount(dev, p.target, { options: ['nodev'] });
      // A symlink (root -> /) would be followed on the host: only real folders count.
      const missing = p.folders.filter((f) => !isDirectory(join(p.target, f), false));
      if (missing.length) {
        await umount(p.target);
        throw new SubhostError(`${basename(p.image)} has no ${missing.map((f) => `${f}/`).join(' and no ')} folder at its top (it must hold ${p.folders.map((f) => `${f}/`).join(' and ')})`);
      }
    } catch (err) {
      await detachLoop(dev).catch(() => undefined);
      throw err;
    }
    return { dev, target: p.target };
  },
  // Without a result, apply failed and cleaned up after itself (stop finds anything a crash left).
  async undo(p, r) {
    if (!r) return;
    await undoMount(p.target);
    await detachIfOurs(r.dev, p.image, 0);
  },
};

export interface MountOverlayParams {
  /** The mount's source name in mountinfo: subhost-NAME. */
  source: string;
  base: string;
  upper: string;
  work: string;
  target: string;
}

/** live = overlay of the upper layer (root) over the read-only BASE; writes only reach the upper layer. */
export const mountOverlay: StepHandler<MountOverlayParams, { target: string }, SubhostContext> = {
  async apply(p, ctx) {
    if (!isDirectory(p.base, true)) throw new SubhostError(`BASE ${p.base} is not a directory`);
    for (const d of [p.upper, p.work]) mkdirSync(d, { recursive: true, mode: 0o755 });
    mountPointFor(p.target, ctx.name);
    await mount(p.source, p.target, { type: 'overlay', options: [`lowerdir=${p.base}`, `upperdir=${p.upper}`, `workdir=${p.work}`] });
    return { target: p.target };
  },
  async undo(p, r) {
    if (r) await undoMount(p.target);
  },
};

export interface BindRootParams {
  source: string;
  target: string;
}

/** live = an rbind of the root folder, made private so that nothing we unmount there propagates back to it. */
export const bindRoot: StepHandler<BindRootParams, { target: string }, SubhostContext> = {
  async apply(p, ctx) {
    if (!isDirectory(p.source, true)) throw new SubhostError(`${p.source} is not a directory`);
    mountPointFor(p.target, ctx.name);
    await mount(p.source, p.target, { rbind: true });
    try {
      // A bind mount joins its source's peer group: an unmount under live would reach root/ too.
      await makePrivate(p.target);
    } catch (err) {
      await undoMount(p.target).catch(() => undefined);
      throw err;
    }
    return { target: p.target };
  },
  async undo(p, r) {
    if (r) await undoMount(p.target);
  },
};
