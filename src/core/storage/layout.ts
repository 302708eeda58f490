import { lstatSync, statSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { ConfigError, errnoCode } from '../../errors';
import { imageProblem } from '../config/host-checks';
import type { SubhostConfig } from '../config/types';
import type { Paths } from '../state/paths';
import type { LoopIdentity } from '../../host/loop-identity';

export type LayoutKind = 'disk' | 'overlay' | 'directory';

/**
 * Where a subhost's root filesystem comes from (SPEC §1): disk images (DISKS), an overlay of
 * NAME/root over the read-only BASE, or NAME/root itself (rbind); with NAME/NAME.img present,
 * the image is mounted on NAME/mnt and its own root/ and work/ are used instead.
 */
export interface Layout {
  kind: LayoutKind;
  /** The mount point of the root filesystem. */
  live: string;
  /** Where the guest's writes land: the overlay's upper layer, the root folder, or the first disk image. */
  writable: string;
  /** The read-only lower layer (overlay). */
  base?: string;
  /** The overlay's work folder, on the same filesystem as the upper layer. */
  work?: string;
  /** NAME.img, mounted on mnt while the subhost is active. */
  imageFile?: string;
  mnt?: string;
}

/** The layout of cfg, given whether NAME.img exists (pure). */
export function layoutFor(cfg: SubhostConfig, paths: Paths, hasImageFile: boolean): Layout {
  const name = cfg.name;
  const live = paths.live(name);
  if (cfg.disks.length) return { kind: 'disk', live, writable: cfg.disks[0].image };
  const mnt = hasImageFile ? paths.mnt(name) : undefined;
  const root = mnt ? join(mnt, 'root') : paths.rootDir(name);
  const image = hasImageFile ? { imageFile: paths.layersImage(name), mnt } : {};
  if (cfg.base) return { kind: 'overlay', live, writable: root, base: cfg.base, work: mnt ? join(mnt, 'work') : paths.workDir(name), ...image };
  return { kind: 'directory', live, writable: root, ...image };
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** The layout as the subhost folder has it now (looks for NAME.img). */
export function detectLayout(cfg: SubhostConfig, paths: Paths): Layout {
  return layoutFor(cfg, paths, cfg.disks.length === 0 && exists(paths.layersImage(cfg.name)));
}

/** The layout a record was started with (records of older versions have none: it is detected). */
export function recordedLayout(rec: { config: SubhostConfig; layout?: Layout }, paths: Paths): Layout {
  return rec.layout ?? detectLayout(rec.config, paths);
}

/** Every image file the subhost attaches to loop devices: its DISKS, or NAME.img. */
export function imagesOf(cfg: SubhostConfig, layout: Layout): string[] {
  return [...cfg.disks.map((d) => d.image), ...(layout.imageFile ? [layout.imageFile] : [])];
}

/** The top folders NAME.img must hold for this layout. */
export function imageFolders(layout: Layout): string[] {
  return layout.kind === 'overlay' ? ['root', 'work'] : ['root'];
}

function statOrUndefined(path: string) {
  try {
    return statSync(path);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return undefined;
    throw new ConfigError(`${path}: ${(err as Error).message}`);
  }
}

/**
 * What can be checked before the host is touched (read-only). The folders inside NAME.img can
 * only be seen once it is mounted: the mount-image step checks them, and undoes itself if not.
 */
export function checkLayout(cfg: SubhostConfig, layout: Layout): void {
  if (layout.kind === 'disk') return;
  if (layout.base) {
    const st = statOrUndefined(layout.base);
    if (!st) throw new ConfigError(`BASE (${JSON.stringify(layout.base)}): does not exist`);
    if (!st.isDirectory()) throw new ConfigError(`BASE (${JSON.stringify(layout.base)}): is not a directory`);
    // overlayfs takes its layers as one option string: ',' and ':' would split it.
    for (const p of [layout.base, layout.writable, layout.work!]) {
      if (/[,:]/.test(p)) throw new ConfigError(`overlay layer ${JSON.stringify(p)}: a path with ',' or ':' cannot be an overlay layer`);
    }
  }
  if (layout.imageFile) return;
  if (layout.kind === 'directory') {
    const st = statOrUndefined(layout.writable);
    // Name the file looked for: without it, "not set" reads as if a config had been read.
    const where = cfg.file ? ` in ${cfg.file}` : ` (there is no config file ${join(dirname(layout.live), 'config')}${cfg.fromEnv.length ? `; from the environment: ${cfg.fromEnv.join(', ')}` : ''})`;
    if (!st) throw new ConfigError(`subhost ${cfg.name}: DISKS and BASE are not set${where} and ${layout.writable} does not exist: nothing to use as the root filesystem`);
    if (!st.isDirectory()) throw new ConfigError(`subhost ${cfg.name}: ${layout.writable} is not a directory`);
  }
}

/** NAME.img must be a writable regular file that nothing on the host uses (loops known by identity). */
export function checkLayoutImage(layout: Layout, loops: LoopIdentity[]): void {
  if (!layout.imageFile) return;
  const problem = imageProblem(layout.imageFile, false, loops);
  if (problem) throw new ConfigError(`${layout.imageFile}: ${problem}${problem === 'is not a regular file' ? ' (an image holding root/ and work/ is expected there)' : ''}`);
}
