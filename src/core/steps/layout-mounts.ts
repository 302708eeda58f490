import { lstatSync, mkdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { SubhostError } from '../../errors';
import { attachLoop } from '../../host/loop';
import { loopsBackedBy } from '../../host/loop-identity';
import { GUEST_MOUNT_OPTIONS, makePrivate, mount, restrictTree } from '../../host/mount';
import type { StepHandler } from '../plan/executor';
import { identityOf } from '../../host/file-identity';
import type { SubhostContext } from './context';
import { detachIfOurs } from './disks';
import { refuseMountPoint, typeToMount, undoMount } from './mounts';

declare module '../plan/subhost-steps' {
  interface SubhostStepKinds {
    'mount-image': MountImageParams;
    'mount-overlay': MountOverlayParams;
    'bind-root': BindRootParams;
  }
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

/** Mount NAME.img on mnt; an image without its folders is refused (and undone like any failed step). */
export const mountImage: StepHandler<MountImageParams, MountImageResult, SubhostContext> = {
  check: (p, ctx) => refuseMountPoint(p.target, ctx),
  async apply(p) {
    mkdirSync(p.target, { recursive: true, mode: 0o755 });
    const dev = await attachLoop(p.image);
    await mount(dev, p.target, { type: await typeToMount(dev), options: GUEST_MOUNT_OPTIONS });
    // A symlink (root -> /) would be followed on the host: only real folders count.
    const missing = p.folders.filter((f) => !isDirectory(join(p.target, f), false));
    if (missing.length) throw new SubhostError(`${basename(p.image)} has no ${missing.map((f) => `${f}/`).join(' and no ')} folder at its top (it must hold ${p.folders.map((f) => `${f}/`).join(' and ')})`);
    return { dev, target: p.target };
  },
  // Also after a failed apply (no result): the check made sure mnt held nothing before, and the
  // host checks that NAME.img was attached nowhere, so its mount and loops now are this step's.
  async undo(p) {
    await undoMount(p.target);
    const id = identityOf(p.image);
    if (id) for (const l of await loopsBackedBy([id])) await detachIfOurs(l.dev, p.image, 0);
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
  check: (p, ctx) => refuseMountPoint(p.target, ctx),
  async apply(p) {
    if (!isDirectory(p.base, true)) throw new SubhostError(`BASE ${p.base} is not a directory`);
    for (const d of [p.upper, p.work, p.target]) mkdirSync(d, { recursive: true, mode: 0o755 });
    await mount(p.source, p.target, { type: 'overlay', options: [...GUEST_MOUNT_OPTIONS, `lowerdir=${p.base}`, `upperdir=${p.upper}`, `workdir=${p.work}`] });
    return { target: p.target };
  },
  async undo(p) {
    await undoMount(p.target);
  },
};

export interface BindRootParams {
  source: string;
  target: string;
}

/** live = an rbind of the root folder, made private so that nothing we unmount there propagates back to it. */
export const bindRoot: StepHandler<BindRootParams, { target: string }, SubhostContext> = {
  check: (p, ctx) => refuseMountPoint(p.target, ctx),
  async apply(p) {
    if (!isDirectory(p.source, true)) throw new SubhostError(`${p.source} is not a directory`);
    mkdirSync(p.target, { recursive: true, mode: 0o755 });
    await mount(p.source, p.target, { rbind: true });
    // A bind mount joins its source's peer group: an unmount under live would reach root/ too.
    await makePrivate(p.target);
    await restrictTree(p.target);
    return { target: p.target };
  },
  async undo(p) {
    await undoMount(p.target);
  },
};
