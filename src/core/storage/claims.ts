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
  macs: string[];
  ips: string[];
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
  writeFileAtomic(paths.claimsFile(rec.name), `${JSON.stringify({ version: 1, ...claimsOf(rec, paths) })}\n`, 0o644, false);
}

const strings = (x: unknown): x is string[] => Array.isArray(x) && x.every((s) => typeof s === 'string');

/** NAME's claims: from claims.json, else from its record (one written before claims.json existed), else none. */
export function readClaims(paths: Paths, name: string): SubhostClaims | undefined {
  try {
    const c = JSON.parse(readFileSync(paths.claimsFile(name), 'utf8'));
    if (c?.version === 1 && c.name === name && strings(c.images) && strings(c.macs) && strings(c.ips)) return { name, images: c.images, macs: c.macs, ips: c.ips };
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
    for (const image of c.images) {
      const id = identityOf(image);
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
