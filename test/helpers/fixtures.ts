import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildBusyboxRoot, DEFAULT_GUEST_FILES, type RootFile } from '../fixtures/image/busybox-root';
import { makeDiskImage } from '../fixtures/image/disk-image';

export interface DiskSubhostOptions {
  /** BRIDGES elements, as written in the config ("br0", "br0:02:..."). */
  bridges?: string[];
  /** Address the guest's rcS gives eth0 (via /etc/network.sh). */
  address?: string;
  hostname?: string;
  /** A second disk, vdb:1, mounted on /data by the guest's fstab. Default true. */
  dataDisk?: boolean;
  extraConfig?: string;
  files?: Record<string, RootFile>;
  /** Last changes to the root tree before it becomes the image. */
  prepare?: (tree: string) => Promise<void> | void;
}

export interface DiskSubhost {
  name: string;
  dir: string;
  disk1: string;
  disk2?: string;
}

/** A subhost folder with a real partitioned busybox image (and a data disk) and its config. */
export async function createDiskSubhost(root: string, name: string, opts: DiskSubhostOptions = {}): Promise<DiskSubhost> {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  const files: Record<string, RootFile> = { ...DEFAULT_GUEST_FILES };
  const withData = opts.dataDisk !== false;
  if (withData) files['etc/fstab'] = { content: '/dev/vdb1 /data ext4 defaults 0 0\n' };
  if (opts.address) files['etc/network.sh'] = { mode: 0o755, content: `#!/bin/sh\nip addr add ${opts.address} dev eth0\nip link set eth0 up\n` };
  Object.assign(files, opts.files ?? {});
  const tree = mkdtempSync('/tmp/subhost-fixture-');
  try {
    await buildBusyboxRoot(tree, files);
    await opts.prepare?.(tree);
    const disk1 = join(dir, 'disk1.raw');
    await makeDiskImage(disk1, { sizeMiB: 48, from: tree });
    let disk2: string | undefined;
    if (withData) {
      disk2 = join(dir, 'disk2.raw');
      await makeDiskImage(disk2, { sizeMiB: 16 });
    }
    const lines = [`DISKS=( vda:1:${disk1}${disk2 ? ` vdb:1:${disk2}` : ''} )`];
    if (opts.bridges?.length) lines.push(`BRIDGES=( ${opts.bridges.join(' ')} )`);
    if (opts.hostname) lines.push(`HOSTNAME=${opts.hostname}`);
    if (opts.extraConfig) lines.push(opts.extraConfig);
    writeFileSync(join(dir, 'config'), lines.join('\n') + '\n');
    return { name, dir, disk1, disk2 };
  } finally {
    rmSync(tree, { recursive: true, force: true });
  }
}

/** The busybox guest of createDiskSubhost as a folder: a BASE, or the root/ of a directory subhost. */
export async function createBusyboxTree(dir: string, files: Record<string, RootFile> = {}): Promise<string> {
  mkdirSync(dir, { recursive: true });
  await buildBusyboxRoot(dir, { ...DEFAULT_GUEST_FILES, ...files });
  return dir;
}

export interface LayerSubhostOptions {
  /** BASE in the config: an overlay subhost. */
  base?: string;
  bridges?: string[];
  hostname?: string;
  /** A directory subhost: root/ (or root/ in NAME.img) holds a busybox tree. */
  rootTree?: boolean;
  /** NAME.img with these top folders (root/ filled when rootTree). */
  imageFolders?: ('root' | 'work')[];
  extraConfig?: string;
}

export interface LayerSubhost {
  name: string;
  dir: string;
  image?: string;
}

/** An overlay or directory subhost folder (SPEC §1): config, and root/ or NAME.img as asked. */
export async function createLayerSubhost(root: string, name: string, opts: LayerSubhostOptions = {}): Promise<LayerSubhost> {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  const lines: string[] = [];
  if (opts.base) lines.push(`BASE=${opts.base}`);
  if (opts.bridges?.length) lines.push(`BRIDGES=( ${opts.bridges.join(' ')} )`);
  if (opts.hostname) lines.push(`HOSTNAME=${opts.hostname}`);
  if (opts.extraConfig) lines.push(opts.extraConfig);
  writeFileSync(join(dir, 'config'), lines.join('\n') + '\n');
  if (!opts.imageFolders) {
    if (opts.rootTree) await createBusyboxTree(join(dir, 'root'));
    return { name, dir };
  }
  const tree = mkdtempSync('/tmp/subhost-fixture-');
  try {
    for (const f of opts.imageFolders) mkdirSync(join(tree, f));
    if (opts.rootTree && opts.imageFolders.includes('root')) await createBusyboxTree(join(tree, 'root'));
    const image = join(dir, `${name}.img`);
    await makeDiskImage(image, { sizeMiB: 24, partitioned: false, from: tree });
    return { name, dir, image };
  } finally {
    rmSync(tree, { recursive: true, force: true });
  }
}
