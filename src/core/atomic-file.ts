import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';

/** Write via a temp file and rename(2), so a reader or a crash sees the old or the new file, never half. */
export function writeFileAtomic(path: string, data: string, mode = 0o644): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', mode);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}
