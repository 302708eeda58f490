import { readFileOr } from '../../host/read-file';
import type { MountEntry } from '../../host/mountinfo';
import { imagesOf, recordedLayout } from './layout';
import type { Paths } from '../state/paths';
import { namesWithState, readRecord, type StateRecord } from '../state/records';
import { identityOf, type Identity } from '../../host/file-identity';
import { deviceAndPartitions } from './in-use';
import type { LoopIdentity } from '../../host/loop-identity';

/** What the other subhosts with runtime state hold: their images' identities (a loop number alone proves nothing: numbers are reused). */
export interface Claims {
  identities: Map<Identity, string>;
  /** Other subhosts whose record cannot be read (what they hold is unknown; their images are still attached, which boot's checks see). */
  unreadable: string[];
}

/** The loop devices a record's steps made (loop-attach, an own partition loop, NAME.img). */
export function recordedLoops(rec: StateRecord): string[] {
  return rec.applied.flatMap((a) => {
    const dev = (a.result as { dev?: unknown } | null)?.dev;
    return typeof dev === 'string' && /^\/dev\/loop\d+$/.test(dev) ? [dev] : [];
  });
}

export function claimsOfOthers(paths: Paths, except: string): Claims {
  const claims: Claims = { identities: new Map(), unreadable: [] };
  for (const name of namesWithState(paths)) {
    if (name === except) continue;
    const read = readRecord(paths, name);
    if (read.corrupt) claims.unreadable.push(name);
    const rec = read.record;
    if (!rec) continue;
    for (const image of imagesOf(rec.config, recordedLayout(rec, paths))) {
      const id = identityOf(image);
      if (id) claims.identities.set(id, name);
    }
  }
  return claims;
}

/** Where a loop device (or a partition of it) is mounted outside the given folders, if anywhere. */
export function mountedOutside(dev: string, dirs: string[], mounts: MountEntry[]): string | undefined {
  const mm = readFileOr(`/sys/block/${dev.replace(/^\/dev\//, '')}/dev`)?.trim();
  if (!mm) return undefined;
  const devs = new Set(deviceAndPartitions(mm));
  const inside = (p: string) => dirs.some((d) => p === d || p.startsWith(`${d}/`));
  return mounts.find((m) => devs.has(m.majorMinor) && !inside(m.mountPoint))?.mountPoint;
}

/** Whose a loop of one of NAME's images is, when NAME's own record does not list it: another subhost's, or in use elsewhere. */
export function loopHeldElsewhere(l: LoopIdentity, claims: Claims, dirs: string[], mounts: MountEntry[]): string | undefined {
  const by = claims.identities.get(l.identity);
  if (by) return `subhost ${by}`;
  const at = mountedOutside(l.dev, dirs, mounts);
  return at ? `a mount on ${at}` : undefined;
}
