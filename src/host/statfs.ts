import { statfsSync, type StatsFs } from 'node:fs';

/** Space and inodes of a mounted filesystem, as df counts them. */
export interface FsSpace {
  sizeBytes: number;
  usedBytes: number;
  /** Available to unprivileged users (df's "Avail"): the reserved blocks are not counted. */
  freeBytes: number;
  /** used / (used + available), rounded up like df, so "100%" means nothing is left. */
  usedPercent: number;
  inodes: number;
  inodesUsed: number;
  inodesUsedPercent: number;
}

const percent = (part: number, whole: number) => (whole > 0 ? Math.ceil((part * 100) / whole) : 0);

/** Pure: the numbers df prints, from statfs(2). */
export function spaceOf(st: Pick<StatsFs, 'bsize' | 'blocks' | 'bfree' | 'bavail' | 'files' | 'ffree'>): FsSpace {
  const used = (st.blocks - st.bfree) * st.bsize;
  const free = st.bavail * st.bsize;
  const inodesUsed = st.files - st.ffree;
  return {
    sizeBytes: st.blocks * st.bsize,
    usedBytes: used,
    freeBytes: free,
    usedPercent: percent(used, used + free),
    inodes: st.files,
    inodesUsed,
    inodesUsedPercent: percent(inodesUsed, st.files),
  };
}

/** statfs(2) of the filesystem at path; undefined when it is gone. */
export function fsSpace(path: string): FsSpace | undefined {
  try {
    return spaceOf(statfsSync(path));
  } catch {
    return undefined;
  }
}
