import { statSync } from 'node:fs';
import { mountableType, partitionProblem, readPartitionTable, type PartitionTable } from '../storage/partition-table';
import type { Layout } from '../storage/layout';
import type { SubhostConfig } from './types';

type Table = PartitionTable & { size: number };
type Mountable = { type?: string; problem?: string };

const quiet = () => undefined;

/**
 * The host checks' reads of NAME's own images (partx, blkid -p), each run once and kept: they
 * read the images only, never the host's or the other subhosts' state, so they may start before
 * the host-wide lock and run at the same time. A result is awaited where the check used to run it.
 */
export class ImageProbes {
  private readonly tables = new Map<string, Promise<Table>>();
  private readonly types = new Map<string, Promise<Mountable>>();
  /** Every probe started, for settled(). */
  private readonly all: Promise<unknown>[] = [];

  /** Count p in settled(). */
  track<T>(p: Promise<T>): Promise<T> {
    this.all.push(p.catch(quiet));
    return p;
  }

  /** partx's table of an image (rejects as readPartitionTable does). */
  table(image: string): Promise<Table> {
    let p = this.tables.get(image);
    if (!p) this.tables.set(image, (p = this.track(readPartitionTable(image))));
    return p;
  }

  /** blkid -p's verdict on bytes [offset, offset+size) of an image. */
  type(path: string, offset = 0, size = 0): Promise<Mountable> {
    const key = `${offset}:${size}:${path}`;
    let p = this.types.get(key);
    if (!p) this.types.set(key, (p = this.track(mountableType(path, offset, size))));
    return p;
  }

  /** Resolves once every probe started so far has ended (never rejects). */
  async settled(): Promise<void> {
    for (let n = 0; n < this.all.length; ) {
      const m = this.all.length;
      await Promise.all(this.all.slice(n, m));
      n = m;
    }
  }
}

/** Only a regular file (or a block device where allowed) is read early: a FIFO would block partx. */
export function probeable(path: string, blockDeviceOk: boolean): boolean {
  try {
    const st = statSync(path);
    return st.isFile() || (blockDeviceOk && st.isBlockDevice());
  } catch {
    return false;
  }
}

/**
 * Start what the checks will read: the layout's image type, every disk image's table and, once
 * its table is in, the type of the first disk's partition (the root). Nothing here throws: a probe
 * that fails is reported by the check that awaits it, in the checks' own order.
 */
export function startImageProbes(cfg: SubhostConfig, layout: Layout): ImageProbes {
  const probes = new ImageProbes();
  if (layout.imageFile && probeable(layout.imageFile, false)) void probes.type(layout.imageFile);
  for (const image of new Set(cfg.disks.map((d) => d.image))) if (probeable(image, true)) void probes.table(image).catch(quiet);
  const first = cfg.disks[0];
  if (first && probeable(first.image, true)) {
    void probes.track(
      probes.table(first.image).then((t) => {
        const part = t.partitions.find((p) => p.index === first.part);
        if (first.part > 0 && (!part || partitionProblem(part, t.size))) return;
        return probes.type(first.image, part?.offset ?? 0, part?.size ?? 0);
      }),
    );
  }
  return probes;
}
