import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeDiskImage } from '../fixtures/image/disk-image';
import { run } from '../../src/host/exec';
import { cli, ok } from '../helpers/cli';
import { makeTestRoot, removeTestRoot, testName } from '../helpers/env';
import { createBusyboxTree, createLayerSubhost } from '../helpers/fixtures';
import { leftoversOf } from '../helpers/leaks';
import { bootAndSettle } from '../helpers/subhost';

/** The superblock options (after " - fstype source ") of the mount at dir, from our mountinfo. */
function superOptions(dir: string): string[] {
  const line = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === dir);
  if (!line) throw new Error(`${dir} is not mounted`);
  return line.split(' - ')[1].split(' ')[2].split(',');
}

// Class 1 of issue 12: subhost-init's power off must never change a filesystem the host shares.
describe('power off leaves the host filesystem under a directory subhost read-write', () => {
  const root = makeTestRoot();
  const mounted: string[] = [];
  afterAll(async () => {
    for (const m of mounted.reverse()) await run(['umount', m], { allowFailure: true });
    removeTestRoot(root);
  });

  it('root/ on an ext4 filesystem of the host: still rw after the guest powers off', async () => {
    const d = await createLayerSubhost(root, testName('f'));
    // The "host's" filesystem: an ext4 loop mount holding root/ (as the host's /opt would).
    const tree = join(root, 'hostfs-tree');
    await createBusyboxTree(join(tree, 'root'));
    const image = join(root, 'hostfs.img');
    await makeDiskImage(image, { sizeMiB: 32, partitioned: false, from: tree });
    await run(['mount', '-o', 'loop', image, d.dir]);
    mounted.push(d.dir);
    writeFileSync(join(d.dir, 'config'), '');
    expect(superOptions(d.dir)).toContain('rw');

    await bootAndSettle(root, d.name);
    ok(['poweroff', d.name], { root });
    expect(superOptions(d.dir)).toContain('rw');
    writeFileSync(join(d.dir, 'still-writable'), 'yes\n');
    expect(leftoversOf(d.name).filter((l) => l.id !== d.dir && !l.id.includes('hostfs.img'))).toEqual([]);
    cli(['stop', d.name], { root });
  });
});
