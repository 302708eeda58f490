import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { teardownCalls } from '../../src/host/bpf-addon';
import { run } from '../../src/host/exec';
import { attachLoop, detachLoops, listLoops, loopInfo } from '../../src/host/loop';
import { isMountPoint, readMountinfo } from '../../src/host/mountinfo';
import { makeTestRoot, removeTestRoot, waitFor } from '../helpers/env';

// umount(8) and losetup as the addon's system calls (teardown.c, loop-attach.c), as boot, stop and power off use them.
describe('the addon\'s umount2, LOOP_CLR_FD and LOOP_CONFIGURE', () => {
  const root = makeTestRoot();
  afterAll(() => removeTestRoot(root));
  const calls = teardownCalls()!;
  const mounted = (dir: string) => isMountPoint(readMountinfo(), dir);

  it('unmounts a mount point, and says why not where there is none', async () => {
    const dir = join(root, 'plain');
    mkdirSync(dir);
    await run(['mount', '-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir]);
    await calls.umount(dir, false);
    expect(mounted(dir)).toBe(false);
    await expect(calls.umount(dir, false)).rejects.toMatchObject({ code: 'EINVAL', message: `umount2 ${dir}: Invalid argument` });
  });

  it('refuses a path it would have to cut (too long, or a NUL byte inside): a cut path is another path', () => {
    for (const path of [`${root}/live\0x`, `/${'a'.repeat(5000)}`]) {
      expect(() => calls.umount(path, false)).toThrow(/Invalid argument/);
      expect(() => calls.detachLoop(path)).toThrow(/Invalid argument/);
      expect(() => calls.attachLoop(path, 0, 0, false)).toThrow(/Invalid argument/);
    }
  });

  it('never follows a symbolic link to a mount point', async () => {
    const dir = join(root, 'target');
    const link = join(root, 'link');
    mkdirSync(dir);
    symlinkSync(dir, link);
    await run(['mount', '-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir]);
    try {
      await expect(calls.umount(link, false)).rejects.toMatchObject({ code: 'EINVAL' });
      expect(mounted(dir)).toBe(true);
    } finally {
      await run(['umount', dir]);
    }
  });

  it('refuses a busy mount, and detaches it when asked to (lazy)', async () => {
    const dir = join(root, 'busy');
    mkdirSync(dir);
    await run(['mount', '-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir]);
    const holder = spawn('sleep', ['120'], { cwd: dir, stdio: 'ignore' });
    try {
      await waitFor('sleep to start in the mount', () => holder.pid !== undefined);
      await expect(calls.umount(dir, false)).rejects.toMatchObject({ code: 'EBUSY' });
      expect(mounted(dir)).toBe(true);
      await calls.umount(dir, true);
      expect(mounted(dir)).toBe(false);
    } finally {
      holder.kill('SIGKILL');
      await new Promise((r) => holder.once('exit', r));
    }
  });

  it('detaches a loop device, and says why not where none is attached', async () => {
    const image = join(root, 'loop.raw');
    writeFileSync(image, Buffer.alloc(1 << 20));
    const dev = await attachLoop(image);
    await calls.detachLoop(dev);
    await waitFor(`${dev} to be detached`, () => !listLoops().some((l) => l.dev === dev && l.backingFile === image));
    await expect(calls.detachLoop(dev)).rejects.toMatchObject({ code: 'ENXIO' });
    expect(() => calls.detachLoop('relative/loop0')).toThrow(/Invalid argument/);
  });

  it('attaches a file as losetup --find --show does: at an offset, to a size, with a partition scan or without', async () => {
    const image = join(root, 'attach.raw');
    writeFileSync(image, Buffer.alloc(4 << 20));
    const whole = await calls.attachLoop(image, 0, 0, true);
    const part = await calls.attachLoop(image, 1 << 20, 2 << 20, false);
    try {
      expect(whole).toMatch(/^\/dev\/loop\d+$/);
      expect(part).not.toBe(whole);
      const sys = (dev: string, f: string) => readFileSync(`/sys/block/${dev.slice(5)}/loop/${f}`, 'utf8').trim();
      expect([sys(whole, 'backing_file'), sys(whole, 'offset'), sys(whole, 'sizelimit'), sys(whole, 'partscan')]).toEqual([image, '0', '0', '1']);
      expect([sys(part, 'backing_file'), sys(part, 'offset'), sys(part, 'sizelimit'), sys(part, 'partscan')]).toEqual([image, String(1 << 20), String(2 << 20), '0']);
      expect(loopInfo(part)).toMatchObject({ offset: 1 << 20, sizeLimit: 2 << 20 });
    } finally {
      await detachLoops([whole, part]);
    }
    await expect(calls.attachLoop(join(root, 'missing.raw'), 0, 0, false)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('leaves a file it may not open read-write to losetup, which attaches it read-only', async () => {
    const dir = join(root, 'ro');
    mkdirSync(dir);
    const image = join(dir, 'ro.raw');
    writeFileSync(image, Buffer.alloc(1 << 20));
    await run(['mount', '--bind', dir, dir]);
    try {
      await run(['mount', '-o', 'remount,bind,ro', dir]);
      await expect(calls.attachLoop(image, 0, 0, false)).rejects.toMatchObject({ code: 'EROFS' });
      // attachLoop (host/loop.ts) takes the addon's EROFS as losetup's case, as it did before the addon.
      const dev = await attachLoop(image);
      try {
        expect(readFileSync(`/sys/block/${dev.slice(5)}/ro`, 'utf8').trim()).toBe('1');
        expect(loopInfo(dev)?.backingFile).toBe(image);
      } finally {
        await detachLoops([dev]);
      }
    } finally {
      await run(['umount', dir]);
    }
  });
});
