import { copyFileSync, linkSync, mkdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeDiskImage } from '../fixtures/image/disk-image';
import { run } from '../../src/host/exec';
import { identityOf } from '../../src/host/file-identity';
import { attachLoop, detachLoop } from '../../src/host/loop';
import { cli, ok } from '../helpers/cli';
import { makeTestRoot, removeTestRoot, testName } from '../helpers/env';
import { useBootedSubhost } from '../helpers/booted';
import { createDiskSubhost } from '../helpers/fixtures';
import { leftoversOf } from '../helpers/leaks';
import { RUN_DIR } from '../helpers/prefix-claims';
import { expectRefused, withConfig } from '../helpers/refused';
import { bootAndSettle } from '../helpers/subhost';

// Issue 12, class 2: an image is known by what it is (st_dev/st_ino, st_rdev), not by how its path is spelled.
describe('images known by identity', () => {
  const y = useBootedSubhost('m', { subhost: () => ({ dataDisk: false }) });
  const scratch = makeTestRoot();
  afterAll(() => removeTestRoot(scratch));

  it("refuses Y's image reached through a symlink or a hard link, also in --dry-run", () => {
    const viaSymlink = join(y.root, 'y-disk.lnk');
    symlinkSync(y.sub().disk1, viaSymlink);
    const viaHardlink = join(y.root, 'y-disk.hard');
    linkSync(y.sub().disk1, viaHardlink);
    for (const image of [viaSymlink, viaHardlink]) {
      const z = withConfig(y.root, `DISKS=( vda:1:${image} )\n`);
      for (const args of [['boot', z], ['boot', z, '--dry-run']]) expectRefused(y.root, args, 1, new RegExp(`DISKS\\[0\\].*image ${image} is in use by subhost ${y.sub().name}`));
    }
  });

  it("goes by the identity Y's image had at Y's boot: a file renamed over that path since is not Y's (Y's loop holds the old one)", async () => {
    const image = y.sub().disk1;
    const before = identityOf(image);
    expect(JSON.parse(readFileSync(join(RUN_DIR, y.sub().name, 'claims.json'), 'utf8')).identities).toEqual([before]);
    const z = withConfig(y.root, `DISKS=( vda:1:${image} )\n`);
    expectRefused(y.root, ['boot', z, '--dry-run'], 1, new RegExp(`image ${image} is in use by subhost ${y.sub().name}`));
    // A copy renamed over the path: the same bytes in a new file, which no loop device holds.
    const copy = join(y.root, 'y-disk.copy');
    copyFileSync(image, copy);
    renameSync(copy, image);
    expect(identityOf(image)).not.toBe(before);
    const r = cli(['boot', z, '--dry-run'], { root: y.root });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('attach');
  });

  it('refuses the same image twice in one DISKS, however spelled', async () => {
    const dir = join(scratch, 'twice');
    mkdirSync(dir);
    const image = join(dir, 'a.raw');
    await makeDiskImage(image, { sizeMiB: 8 });
    symlinkSync(image, join(dir, 'b.raw'));
    const z = withConfig(scratch, `DISKS=( vda:1:${image} vdb:1:${join(dir, 'b.raw')} )\n`);
    expectRefused(scratch, ['boot', z, '--dry-run'], 1, /DISKS\[1\].*is the same image as DISKS\[0\]'s/);
  });

  it('refuses a host block device that the host has mounted', async () => {
    const image = join(scratch, 'hostdisk.raw');
    await makeDiskImage(image, { sizeMiB: 8, partitioned: false });
    const dev = await attachLoop(image);
    const at = join(scratch, 'hostmnt');
    mkdirSync(at);
    try {
      await run(['mount', dev, at]);
      const z = withConfig(scratch, `DISKS=( vda:0:${dev} )\n`);
      expectRefused(scratch, ['boot', z, '--dry-run'], 1, new RegExp(`image ${dev} is mounted by the host on ${at}`));
    } finally {
      await run(['umount', at], { allowFailure: true });
      await detachLoop(dev);
    }
  });

  it('a symlinked image (as /dev/vg/lv is) leaves no loop device at stop; a symlinked SUBHOST_ROOT leaves no mount', async () => {
    const real = makeTestRoot();
    const link = `${real}-link`;
    symlinkSync(real, link);
    try {
      const s = await createDiskSubhost(real, testName('l'), { dataDisk: false });
      const lv = join(real, 'lv-link.raw');
      symlinkSync(s.disk1, lv);
      writeFileSync(join(s.dir, 'config'), `DISKS=( vda:1:${lv} )\n`);
      await bootAndSettle(link, s.name);
      ok(['stop', s.name], { root: link });
      expect(leftoversOf(s.name)).toEqual([]);
      expect(cli(['check-mounts', s.name], { root: link }).code).toBe(0);
    } finally {
      await run(['rm', '-f', link]);
      removeTestRoot(real);
    }
  });

  it('check-mounts reports one filesystem mounted twice through two loop devices', async () => {
    const image = join(scratch, 'double.raw');
    await makeDiskImage(image, { sizeMiB: 8, partitioned: false });
    symlinkSync(image, join(scratch, 'double.lnk'));
    const a = await attachLoop(image);
    const b = await attachLoop(join(scratch, 'double.lnk'));
    const dirs = [join(scratch, 'da'), join(scratch, 'db')];
    try {
      for (const [dev, dir] of [[a, dirs[0]], [b, dirs[1]]]) {
        mkdirSync(dir);
        await run(['mount', '-o', 'ro,noload', dev, dir]);
      }
      const r = cli(['check-mounts'], { root: scratch });
      expect(r.code).toBe(1);
      expect(r.stdout).toContain(`mounted twice: ${image} through `);
      expect(r.stdout).toMatch(new RegExp(`${a} on ${dirs[0]}`));
    } finally {
      for (const d of dirs) await run(['umount', d], { allowFailure: true });
      await detachLoop(a);
      await detachLoop(b);
    }
  });
});
