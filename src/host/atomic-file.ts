import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';

/**
 * Write via a temp file and rename(2), so a reader or a crash sees the old or the new file, never
 * half. sync: also fsync before the rename, for files that must survive a power cut (not the
 * runtime state on /run, which a host crash clears anyway).
 */
export function writeFileAtomic(path: string, data: string, mode = 0o644, sync = true): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', mode);
  try {
    writeSync(fd, data);
    if (sync) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}
