import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../../src/host/exec';
import { attachLoop, detachLoops, listLoops } from '../../src/host/loop';
import { makeTestRoot, removeTestRoot, waitFor } from '../helpers/env';

const readOr = (path: string) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
};

describe('a loop device that another mount namespace keeps busy', () => {
  const root = makeTestRoot();
  afterAll(() => removeTestRoot(root));

  it('is not detached while held, the error names the holder, and it goes when that namespace ends', async () => {
    const image = join(root, 'disk.raw');
    const mnt = join(root, 'mnt');
    mkdirSync(mnt);
    writeFileSync(image, Buffer.alloc(8 << 20));
    await run(['mke2fs', '-q', '-t', 'ext4', image]);
    const dev = await attachLoop(image);
    await run(['mount', dev, mnt]);
    // What debootstrap under `unshare --mount` did beside a running subhost: a private copy of every mount.
    const holder = spawn('unshare', ['--mount', '--propagation', 'private', 'sleep', '120'], { stdio: 'ignore' });
    try {
      await waitFor('the copy of the mount in the new namespace', () => readOr(`/proc/${holder.pid}/mountinfo`).includes(` ${mnt} `) && readOr(`/proc/${holder.pid}/comm`).trim() === 'sleep');
      await run(['umount', mnt]);
      const err = await detachLoops([dev], 300).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err?.message).toContain(`${dev} still attached after 0.3 s (in use: mounted on ${mnt} in the mount namespace of PID ${holder.pid} (sleep); it detaches itself when that namespace ends)`);
      expect(listLoops().some((l) => l.dev === dev)).toBe(true);
    } finally {
      holder.kill('SIGKILL');
      await new Promise((r) => holder.once('exit', r));
    }
    // losetup --detach marked it: the last close (the namespace's end) detaches it, with nothing more from us.
    await waitFor(`${dev} to detach itself`, () => !listLoops().some((l) => l.dev === dev && l.backingFile === image));
  });
});
