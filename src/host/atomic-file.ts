import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';

/**
 * Write via a temp file and rename(2), so a reader or a crash sees the old or the new file, never
 * half; a short write is continued, a failed one leaves no temp file. sync: also fsync before
 * the rename, so that what the rename publishes is complete on disk.
 */
export function writeFileAtomic(path: string, data: string, mode = 0o644, sync = true): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', mode);
  try {
    // write(2) may write less than asked (a signal, a full tmpfs): go on until all of it is there.
    const buf = Buffer.from(data);
    for (let done = 0; done < buf.length; ) done += writeSync(fd, buf, done, buf.length - done);
    if (sync) fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  renameSync(tmp, path);
}
