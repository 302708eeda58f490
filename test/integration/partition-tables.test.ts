import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeDiskImage, writeSectors } from '../fixtures/image/disk-image';
import { buildMbr } from '../fixtures/image/mbr';
import { run } from '../../src/host/exec';
import { cli } from '../helpers/cli';
import { makeTestRoot, removeTestRoot } from '../helpers/env';
import { expectRefused, withConfig } from '../helpers/refused';

const SECTOR = 512;

// Issue 12, class 6: an image's partition table is untrusted; util-linux reads it, subhost bounds-checks it and never lets mount guess.
describe('crafted partition tables', () => {
  const root = makeTestRoot();
  afterAll(() => removeTestRoot(root));
  const dryRun = (config: string) => {
    const name = withConfig(root, config);
    return { name, r: cli(['boot', name, '--dry-run'], { root }) };
  };

  it('refuses a partition that lies outside the image, before anything is touched', async () => {
    const image = join(root, 'outside.raw');
    await makeDiskImage(image, { sizeMiB: 8 });
    // Partition 1 claims 64 MiB of an 8 MiB image.
    writeSectors(image, [[0, buildMbr([{ start: 2048, sectors: 131072 }])]]);
    const name = withConfig(root, `DISKS=( vda:1:${image} )\n`);
    for (const args of [['boot', name, '--dry-run'], ['boot', name]]) expectRefused(root, args, 1, /DISKS\[0\] .*: partition 1 of .* lies outside the image/);
  });

  it("numbers a logical partition after an empty EBR as the kernel does (5, not 6)", async () => {
    const image = join(root, 'ebr.raw');
    await makeDiskImage(image, { sizeMiB: 16, partitioned: false });
    // Extended partition at 2048; its first EBR has no logical partition, only the link to a second, whose logical partition holds ext4.
    writeSectors(image, [
      [0, buildMbr([{ type: 0x05, start: 2048, sectors: 30000 }])],
      [2048, buildMbr([undefined, { type: 0x05, start: 4096, sectors: 20000 }])],
      [6144, buildMbr([{ type: 0x83, start: 2048, sectors: 8192 }])],
    ]);
    await run(['mke2fs', '-q', '-F', '-t', 'ext4', '-E', `offset=${8192 * SECTOR}`, image, '4096k']);
    const { r } = dryRun(`DISKS=( vda:5:${image} )\n`);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`a loop at offset ${8192 * SECTOR} (${8192 * SECTOR} bytes)`);
  });

  it('refuses a GPT whose entry size is absurd in one line, without reading it', async () => {
    const image = join(root, 'gpt.raw');
    await makeDiskImage(image, { sizeMiB: 8, partitioned: false });
    const hdr = Buffer.alloc(SECTOR);
    hdr.write('EFI PART', 0, 'latin1');
    hdr.writeBigUInt64LE(2n, 72);
    hdr.writeUInt32LE(1024, 80);
    hdr.writeUInt32LE(0x7fffffff, 84);
    writeSectors(image, [[0, buildMbr([{ start: 1, sectors: 16383, type: 0xee }])], [1, hdr]]);
    const name = withConfig(root, `DISKS=( vda:1:${image} )\n`);
    expectRefused(root, ['boot', name, '--dry-run'], 1, /DISKS\[0\] .*: partition 1 does not exist/);
  });

  it('refuses to mount a filesystem type outside the allowlist (mount never guesses)', async () => {
    const image = join(root, 'minix.raw');
    await run(['truncate', '-s', '8M', image]);
    await run(['mkfs.minix', image]);
    const name = withConfig(root, `DISKS=( vda:0:${image} )\n`);
    for (const args of [['boot', name, '--dry-run'], ['boot', name]]) expectRefused(root, args, 1, /DISKS\[0\] .*: .*holds a minix filesystem, which subhost does not mount for a guest/);
  });
});
