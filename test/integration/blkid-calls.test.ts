import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { blkidCalls } from '../../src/host/bpf-addon';
import { observeSpawns, run, type SpawnKind } from '../../src/host/exec';
import { parsePartx, probeFsType, readPartitionTable } from '../../src/core/storage/partition-table';
import { makeDiskImage, MiB, writeSectors } from '../fixtures/image/disk-image';
import { buildMbr } from '../fixtures/image/mbr';
import { makeTestRoot, removeTestRoot } from '../helpers/env';

const SECTOR = 512;

/** What partx itself answers: its table, or none where it fails (readPartitionTable's fallback, inline). */
async function partxTable(path: string) {
  const r = await run(['partx', '--raw', '--noheadings', '--output', 'NR,START,SECTORS,SCHEME', path], { allowFailure: true });
  return r.code === 0 ? parsePartx(r.stdout) : { scheme: 'none', partitions: [] };
}

/** What blkid -p itself answers: its TYPE, or undefined where it prints none or fails. */
async function blkidType(path: string, offset: number, size: number) {
  const argv = ['blkid', '-p', '-o', 'export', ...(offset ? ['--offset', String(offset)] : []), ...(size ? ['--size', String(size)] : []), path];
  const r = await run(argv, { allowFailure: true });
  return r.code === 0 ? /^TYPE=(\S+)$/m.exec(r.stdout)?.[1] : undefined;
}

// partx --show and blkid -p as the addon's libblkid calls (blkid.c): boot's image probes without their two processes.
describe('the addon\'s libblkid probes', () => {
  const root = makeTestRoot();
  afterAll(() => removeTestRoot(root));
  const kinds: SpawnKind[] = [];
  observeSpawns((_argv, _ms, kind) => kinds.push(kind));

  /** Images whose tables and filesystems partx and blkid read in every way boot meets them. */
  async function images(): Promise<Record<string, string>> {
    const at = (name: string) => join(root, name);
    await makeDiskImage(at('dos.raw'), { sizeMiB: 16 });
    await makeDiskImage(at('whole.raw'), { sizeMiB: 8, partitioned: false });
    // An extended partition whose first EBR is empty: its logical partition is 5, as the kernel numbers it.
    await makeDiskImage(at('ebr.raw'), { sizeMiB: 16, partitioned: false });
    writeSectors(at('ebr.raw'), [
      [0, buildMbr([{ type: 0x05, start: 2048, sectors: 30000 }])],
      [2048, buildMbr([undefined, { type: 0x05, start: 4096, sectors: 20000 }])],
      [6144, buildMbr([{ type: 0x83, start: 2048, sectors: 8192 }])],
    ]);
    await run(['mke2fs', '-q', '-F', '-t', 'ext4', '-E', `offset=${8192 * SECTOR}`, at('ebr.raw'), '4096k']);
    // A GPT of three, the second ext4.
    await run(['truncate', '-s', '24M', at('gpt.raw')]);
    await run(['sfdisk', '--quiet', at('gpt.raw')], { input: 'label: gpt\n,4M\n,8M\n,\n' });
    await run(['mke2fs', '-q', '-F', '-t', 'ext4', '-E', `offset=${(2048 + 8192) * SECTOR}`, at('gpt.raw'), '8192k']);
    // A GPT header whose entry size is absurd: no table.
    await makeDiskImage(at('badgpt.raw'), { sizeMiB: 8, partitioned: false });
    const hdr = Buffer.alloc(SECTOR);
    hdr.write('EFI PART', 0, 'latin1');
    hdr.writeBigUInt64LE(2n, 72);
    hdr.writeUInt32LE(1024, 80);
    hdr.writeUInt32LE(0x7fffffff, 84);
    writeSectors(at('badgpt.raw'), [[0, buildMbr([{ start: 1, sectors: 16383, type: 0xee }])], [1, hdr]]);
    // A small disk (1 MiB: blkid -p looks for a table before any filesystem there).
    writeFileSync(at('floppy.raw'), Buffer.alloc(MiB));
    writeSectors(at('floppy.raw'), [[0, buildMbr([{ start: 64, sectors: 1984 }])]]);
    // ext4 with a btrfs superblock's magic at 64 KiB: two filesystems, an ambivalent answer (blkid exits 8).
    await makeDiskImage(at('ambivalent.raw'), { sizeMiB: 8, partitioned: false });
    writeSectors(at('ambivalent.raw'), [[128, Buffer.from('\0'.repeat(64) + '_BHRfS_M')]]);
    await run(['truncate', '-s', '8M', at('minix.raw')]);
    await run(['mkfs.minix', at('minix.raw')]);
    writeFileSync(at('zeros.raw'), Buffer.alloc(4 * MiB));
    return { dos: at('dos.raw'), whole: at('whole.raw'), ebr: at('ebr.raw'), gpt: at('gpt.raw'), badgpt: at('badgpt.raw'), floppy: at('floppy.raw'), ambivalent: at('ambivalent.raw'), minix: at('minix.raw'), zeros: at('zeros.raw'), missing: at('missing.raw') };
  }

  it('reads every table as partx does and every filesystem as blkid -p does, without a process', async () => {
    const calls = blkidCalls()!;
    const all = await images();
    const answers: Record<string, unknown> = {};
    for (const [name, path] of Object.entries(all)) {
      const t = await calls.partitionTable(path);
      const table = t.partitions.length ? { scheme: t.scheme, partitions: t.partitions.map((p) => ({ index: p.index, offset: p.start * SECTOR, size: p.sectors * SECTOR })) } : { scheme: 'none', partitions: [] };
      expect(table, `${name}: table`).toEqual(await partxTable(path));
      // The whole image, and each partition's bytes, as boot probes them.
      for (const [offset, size] of [[0, 0], ...table.partitions.map((p) => [p.offset, p.size])]) {
        expect((await calls.filesystemType(path, offset, size)) || undefined, `${name} at ${offset}+${size}: type`).toBe(await blkidType(path, offset, size));
      }
      answers[name] = [table.scheme, table.partitions.map((p) => p.index), (await calls.filesystemType(path, 0, 0)) || '-'];
    }
    // The cases above are what they claim to be (so the comparison covered each).
    expect(answers).toEqual({
      dos: ['dos', [1], '-'],
      whole: ['none', [], 'ext4'],
      // The whole image was ext4 before its table was written (as the fixture makes it).
      ebr: ['dos', [1, 5], 'ext4'],
      gpt: ['gpt', [1, 2, 3], '-'],
      badgpt: ['none', [], 'ext4'],
      floppy: ['dos', [1], '-'],
      ambivalent: ['none', [], '-'],
      minix: ['none', [], 'minix'],
      zeros: ['none', [], '-'],
      missing: ['none', [], '-'],
    });
    expect(await blkidType(all.gpt, 10240 * SECTOR, 8 * MiB)).toBe('ext4');
    expect((await run(['blkid', '-p', all.ambivalent], { allowFailure: true })).code).toBe(8);
  });

  it('is what boot\'s checks use: readPartitionTable and probeFsType make no process', async () => {
    const image = join(root, 'boot.raw');
    await makeDiskImage(image, { sizeMiB: 8 });
    kinds.length = 0;
    const t = await readPartitionTable(image);
    expect(t).toMatchObject({ scheme: 'dos', partitions: [{ index: 1, offset: MiB, size: 7 * MiB }], size: 8 * MiB });
    expect(await probeFsType(image, MiB, 7 * MiB)).toBe('ext4');
    expect(await probeFsType(image, 0, 0)).toBeUndefined();
    expect(kinds).toEqual(['call', 'call', 'call']);
  });

  it('refuses a path it would have to cut, and a negative offset or size', () => {
    const calls = blkidCalls()!;
    expect(() => calls.partitionTable(`${root}/a\0b`)).toThrow(/Invalid argument/);
    expect(() => calls.filesystemType(`/${'a'.repeat(5000)}`, 0, 0)).toThrow(/Invalid argument/);
    expect(() => calls.filesystemType(join(root, 'x'), -1, 0)).toThrow(/Invalid argument/);
  });
});
