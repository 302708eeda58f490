import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { optionalAddon } from './bpf-addon';

/**
 * Write via a temp file put in place in one step, so a reader or a crash sees the old or the new
 * file, never half; a short write is continued, a failed one leaves no temp file. sync: fsync, then
 * rename(2), so that what the rename publishes is complete on disk. Without sync the addon's
 * publishFile exchanges the two (a rename over a file makes ext4 write its data out) and removes the old.
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
  const publish = sync ? undefined : optionalAddon()?.publishFile;
  if (publish) publish(tmp, path);
  else renameSync(tmp, path);
}
