import { mkdirSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../../host/atomic-file';
import { readFileOr } from '../../host/read-file';
import type { MountEntry } from '../../host/mountinfo';
import { imagesOf, recordedLayout } from './layout';
import type { Paths } from '../state/paths';
import { namesWithState, readRecord, type StateRecord } from '../state/records';
import { identityOf, type Identity } from '../../host/file-identity';
import { deviceAndPartitions } from './in-use';
import type { LoopIdentity } from '../../host/loop-identity';

/**
 * What a subhost with runtime state holds that no other may take: its images (DISKS and NAME.img),
 * MACs and addresses. Every boot compares its config with every other subhost's: read from the
 * ~200-byte claims.json, not the 5 KB record (200 records were 13-30 ms of a boot).
 */
export interface SubhostClaims {
  name: string;
  images: string[];
  /**
   * Each image's identity when NAME booted (what its loop devices hold), '' where it had none: a
   * boot compares these with its own images, not a stat of every other subhost's (200 stats were
   * 3-4 ms of a boot with 200 running). Absent from a record's claims: the images are stat'ed then.
   */
  identities?: string[];
  macs: string[];
  ips: string[];
}

/** The identity of a claimed image: the one recorded at its subhost's boot, else the file's now. */
export function claimedIdentity(c: SubhostClaims, i: number): Identity | undefined {
  return c.identities?.[i] || identityOf(c.images[i]);
}

export function claimsOf(rec: Pick<StateRecord, 'name' | 'config' | 'layout'>, paths: Paths): SubhostClaims {
  return {
    name: rec.name,
    images: imagesOf(rec.config, recordedLayout(rec, paths)),
    macs: rec.config.bridges.map((b) => b.mac),
    ips: (rec.config.addresses ?? []).flatMap((a) => (a ? [a.ip] : [])),
  };
}

/**
 * Written before NAME's first record, under the host lock, and gone with its runtime folder. No
 * fsync: one that a crash left empty or torn is not used, and the record is read instead.
 */
export function writeClaims(paths: Paths, rec: Pick<StateRecord, 'name' | 'config' | 'layout'>): void {
  mkdirSync(paths.runDir(rec.name), { recursive: true, mode: 0o755 });
  const claims = claimsOf(rec, paths);
  claims.identities = claims.images.map((image) => identityOf(image) ?? '');
  writeFileAtomic(paths.claimsFile(rec.name), `${JSON.stringify({ version: 1, ...claims })}\n`, 0o644, false);
}

const strings = (x: unknown): x is string[] => Array.isArray(x) && x.every((s) => typeof s === 'string');

/** NAME's claims: from claims.json, else from its record (one written before claims.json existed), else none. */
export function readClaims(paths: Paths, name: string): SubhostClaims | undefined {
  try {
    const c = JSON.parse(readFileSync(paths.claimsFile(name), 'utf8'));
    if (c?.version === 1 && c.name === name && strings(c.images) && strings(c.macs) && strings(c.ips)) {
      // One identity per image, or none known (a claims.json of an older release): the images are stat'ed.
      const identities = strings(c.identities) && c.identities.length === c.images.length ? c.identities : undefined;
      return { name, images: c.images, ...(identities && { identities }), macs: c.macs, ips: c.ips };
    }
  } catch {
    // Missing or torn: the record says the same.
  }
  const rec = readRecord(paths, name).record;
  return rec && claimsOf(rec, paths);
}

/** The claims of every subhost with runtime state but `except` (one with neither file usable: nothing known). */
export function otherClaims(paths: Paths, except: string): SubhostClaims[] {
  return namesWithState(paths).flatMap((name) => (name === except ? [] : (readClaims(paths, name) ?? [])));
}

/** The loop devices a record's steps made (loop-attach, an own partition loop, NAME.img). */
export function recordedLoops(rec: StateRecord): string[] {
  return rec.applied.flatMap((a) => {
    const dev = (a.result as { dev?: unknown } | null)?.dev;
    return typeof dev === 'string' && /^\/dev\/loop\d+$/.test(dev) ? [dev] : [];
  });
}

/** The other subhosts' images by identity, to their names (a loop number alone proves nothing: numbers are reused). */
export type Claims = Map<Identity, string>;

export function claimsOfOthers(paths: Paths, except: string): Claims {
  const identities: Claims = new Map();
  for (const c of otherClaims(paths, except)) {
    for (let i = 0; i < c.images.length; i++) {
      const id = claimedIdentity(c, i);
      if (id) identities.set(id, c.name);
    }
  }
  return identities;
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
  const by = claims.get(l.identity);
  if (by) return `subhost ${by}`;
  const at = mountedOutside(l.dev, dirs, mounts);
  return at ? `a mount on ${at}` : undefined;
}
