import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';

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

/**
 * writeFileAtomic with the same steps (temp file, every byte, fsync, rename) on libuv's threads:
 * the fsync of a record on a disk-backed /run no longer stops the event loop, and with it the
 * other steps and the other boots of a batch. Calls on one path must not overlap (one temp name).
 */
export async function writeFileAtomicAsync(path: string, data: string, mode = 0o644): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  const fh = await open(tmp, 'w', mode);
  try {
    const buf = Buffer.from(data);
    for (let done = 0; done < buf.length; ) done += (await fh.write(buf, done, buf.length - done)).bytesWritten;
    await fh.sync();
  } catch (err) {
    await fh.close();
    await rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  await rename(tmp, path);
}
