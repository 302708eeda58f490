import { statSync } from 'node:fs';
import { run } from './exec';
import { optionalAddon, type AttachedLoop } from './bpf-addon';
import { blockIdentity, fileIdentity, identityOf, splitDev, type Identity } from './file-identity';

/** An attached loop device and the identity of what is behind it (not its path string). */
export interface LoopIdentity {
  dev: string;
  backingFile: string;
  identity: Identity;
  offset: number;
  sizeLimit: number;
}

interface LosetupJson {
  loopdevices?: { name: string; 'back-file': string | null; 'back-ino': number | string | null; 'back-maj:min': string | null; offset: number | string; sizelimit: number | string }[];
}

/**
 * The identity of the file behind a loop: the kernel keeps its st_dev and st_ino (LOOP_GET_STATUS64,
 * which `losetup --json` shows), so a renamed or deleted image is still recognised. A block device
 * behind it is known by its st_rdev, read from its node.
 */
export function loopBackingIdentity(backingFile: string, backMajMin: string | null, backIno: string | number | null): Identity {
  const path = backingFile.replace(/ \(deleted\)$/, '');
  try {
    const st = statSync(path, { bigint: true });
    if (st.isBlockDevice()) return blockIdentity(...splitDev(st.rdev));
  } catch {
    /* gone: the kernel's numbers below */
  }
  if (backMajMin && backIno !== null) return fileIdentity(backMajMin, backIno);
  return identityOf(path) ?? `path:${path}`;
}

/**
 * Every attached loop device with its backing identity: in one call to the native addon
 * (listLoops: sysfs for the file names, LOOP_GET_STATUS64 for what is behind each, as losetup
 * reads it); without the addon, one `losetup --list --json`.
 */
export async function listLoopIdentities(): Promise<LoopIdentity[]> {
  const addon = optionalAddon();
  return typeof addon?.listLoops === 'function' ? addon.listLoops().map(attachedIdentity) : losetupIdentities();
}

/**
 * The attached loop devices backed by one of these images (by identity), or by a file whose path
 * starts with one of prefixes (a subhost's folder, with its trailing /). The addon reads every
 * device's status but the sysfs name only where a prefix needs it or the device matches, and
 * makes objects of the matches only: with 200 subhosts running, 400 devices, of which boot and
 * stop want one or two. Block devices (known by their st_rdev, which the status does not give)
 * and hosts without the addon take the full list.
 */
export async function loopsBackedBy(identities: Identity[], prefixes: string[] = []): Promise<LoopIdentity[]> {
  const addon = optionalAddon();
  const files = identities.map((i) => /^f:(\d+:\d+:\d+)$/.exec(i)?.[1]);
  if (typeof addon?.listLoopsBacking === 'function' && files.length <= 64 && prefixes.length <= 64 && files.every((f) => f !== undefined) && prefixes.every((p) => p.length > 0 && p.length < 4095)) {
    // On libuv's pool (an addon of stop 27 walked on this thread and returned the array: awaited alike).
    return (await addon.listLoopsBacking(files as string[], prefixes)).map(attachedIdentity);
  }
  const wanted = new Set(identities);
  return (await listLoopIdentities()).filter((l) => wanted.has(l.identity) || prefixes.some((p) => l.backingFile.startsWith(p)));
}

/** loopBackingIdentity's answer from what the addon read: the block device's numbers, else the file's. */
function attachedIdentity(l: AttachedLoop): LoopIdentity {
  const identity = l.blockMajor !== undefined && l.blockMinor !== undefined ? blockIdentity(l.blockMajor, l.blockMinor) : fileIdentity(`${l.backMajor}:${l.backMinor}`, l.backIno);
  return { dev: l.dev, backingFile: l.backingFile, identity, offset: l.offset, sizeLimit: l.sizeLimit };
}

export async function losetupIdentities(): Promise<LoopIdentity[]> {
  const { stdout } = await run(['losetup', '--list', '--json', '--output', 'NAME,BACK-FILE,BACK-INO,BACK-MAJ:MIN,OFFSET,SIZELIMIT']);
  if (!stdout.trim()) return [];
  const parsed = JSON.parse(stdout) as LosetupJson;
  return (parsed.loopdevices ?? [])
    .filter((l) => l['back-file'])
    .map((l) => ({
      dev: l.name,
      backingFile: l['back-file']!.replace(/ \(deleted\)$/, ''),
      identity: loopBackingIdentity(l['back-file']!, l['back-maj:min']?.trim() ?? null, l['back-ino']),
      offset: Number(l.offset) || 0,
      sizeLimit: Number(l.sizelimit) || 0,
    }));
}
