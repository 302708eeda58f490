import { readdirSync } from 'node:fs';
import { readFileOr } from '../../host/read-file';
import type { MountEntry } from '../../host/mountinfo';
import type { LoopIdentity } from '../../host/loop-identity';

/** One filesystem of an image mounted through two loop devices: the kernel caches each separately, and their writes corrupt it. */
export interface DoubleMount {
  image: string;
  mounts: { dev: string; mountPoint: string }[];
}

interface Mounted {
  dev: string;
  mountPoint: string;
  /** Byte range of the image it shows. */
  start: number;
  end: number;
}

const sysNum = (path: string) => Number(readFileOr(path)?.trim() ?? NaN);

/** The mounted devices of one loop (itself or its partitions), with the image bytes each covers. */
function mountedOf(l: LoopIdentity, byDev: Map<string, MountEntry>): Mounted[] {
  const name = l.dev.replace(/^\/dev\//, '');
  const base = `/sys/block/${name}`;
  const end = l.sizeLimit ? l.offset + l.sizeLimit : Number.MAX_SAFE_INTEGER;
  const out: Mounted[] = [];
  const self = byDev.get(readFileOr(`${base}/dev`)?.trim() ?? '');
  if (self) out.push({ dev: l.dev, mountPoint: self.mountPoint, start: l.offset, end });
  let parts: string[] = [];
  try {
    parts = readdirSync(base).filter((p) => p.startsWith(`${name}p`));
  } catch {
    /* detached meanwhile */
  }
  for (const p of parts) {
    const m = byDev.get(readFileOr(`${base}/${p}/dev`)?.trim() ?? '');
    if (!m) continue;
    const start = l.offset + sysNum(`${base}/${p}/start`) * 512;
    out.push({ dev: `/dev/${p}`, mountPoint: m.mountPoint, start, end: start + sysNum(`${base}/${p}/size`) * 512 });
  }
  return out;
}

/** Images whose bytes are mounted through more than one loop device at once (SPEC §5: check-mounts reports it). */
export function findDoubleMounts(loops: LoopIdentity[], mounts: MountEntry[]): DoubleMount[] {
  const byDev = new Map(mounts.map((m) => [m.majorMinor, m]));
  const byImage = new Map<string, LoopIdentity[]>();
  for (const l of loops) byImage.set(l.identity, [...(byImage.get(l.identity) ?? []), l]);
  const found: DoubleMount[] = [];
  for (const group of byImage.values()) {
    if (group.length < 2) continue;
    const mounted = group.map((l) => mountedOf(l, byDev));
    const clash: Mounted[] = [];
    mounted.forEach((a, i) =>
      mounted.slice(i + 1).forEach((others) => {
        for (const x of a) for (const y of others) if (x.start < y.end && y.start < x.end) clash.push(x, y);
      }),
    );
    if (clash.length) found.push({ image: group[0].backingFile, mounts: [...new Map(clash.map((c) => [c.dev, { dev: c.dev, mountPoint: c.mountPoint }])).values()] });
  }
  return found;
}
