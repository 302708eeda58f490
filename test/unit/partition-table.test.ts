import { describe, expect, it } from 'vitest';
import { buildMbr } from '../fixtures/image/mbr';
import { parsePartitionTable, type ReadAt } from '../../src/core/storage/partition-table';

function image(size: number, writes: [number, Buffer][]): ReadAt {
  const buf = Buffer.alloc(size);
  for (const [off, b] of writes) b.copy(buf, off);
  return (offset, length) => buf.subarray(offset, Math.min(offset + length, size));
}

describe('parsePartitionTable', () => {
  it('reads back the MBR we write', () => {
    const mbr = buildMbr([{ start: 2048, sectors: 4096 }, { start: 8192, sectors: 100, type: 0x82 }]);
    expect(parsePartitionTable(image(1 << 20, [[0, mbr]]))).toEqual({
      scheme: 'mbr',
      partitions: [
        { index: 1, offset: 2048 * 512, size: 4096 * 512 },
        { index: 2, offset: 8192 * 512, size: 100 * 512 },
      ],
    });
  });

  it('keeps the slot number of a primary partition after an empty slot', () => {
    const mbr = buildMbr([{ start: 2048, sectors: 10, type: 0 }, { start: 4096, sectors: 10 }]);
    expect(parsePartitionTable(image(1 << 20, [[0, mbr]])).partitions.map((p) => p.index)).toEqual([2]);
  });

  it('numbers logical partitions from 5 along the EBR chain', () => {
    const mbr = buildMbr([{ start: 2048, sectors: 1000 }, { start: 4096, sectors: 4000, type: 0x05 }]);
    // EBR 1 at the extended start: logical at +63, next EBR at extended start + 1000.
    const ebr1 = buildMbr([{ start: 63, sectors: 500 }, { start: 1000, sectors: 600, type: 0x05 }]);
    const ebr2 = buildMbr([{ start: 63, sectors: 200 }]);
    const p = parsePartitionTable(image(8 << 20, [[0, mbr], [4096 * 512, ebr1], [(4096 + 1000) * 512, ebr2]]));
    expect(p.partitions).toEqual([
      { index: 1, offset: 2048 * 512, size: 1000 * 512 },
      { index: 5, offset: (4096 + 63) * 512, size: 500 * 512 },
      { index: 6, offset: (4096 + 1000 + 63) * 512, size: 200 * 512 },
    ]);
  });

  it('reads GPT behind a protective MBR, numbering by slot', () => {
    const pmbr = buildMbr([{ start: 1, sectors: 0xffffffff, type: 0xee }]);
    const hdr = Buffer.alloc(92);
    hdr.write('EFI PART', 0, 'latin1');
    hdr.writeBigUInt64LE(2n, 72);
    hdr.writeUInt32LE(128, 80);
    hdr.writeUInt32LE(128, 84);
    const entries = Buffer.alloc(128 * 128);
    const entry = (slot: number, first: bigint, last: bigint) => {
      entries.fill(0x11, slot * 128, slot * 128 + 16);
      entries.writeBigUInt64LE(first, slot * 128 + 32);
      entries.writeBigUInt64LE(last, slot * 128 + 40);
    };
    entry(0, 2048n, 4095n);
    entry(2, 4096n, 8191n);
    const p = parsePartitionTable(image(8 << 20, [[0, pmbr], [512, hdr], [1024, entries]]));
    expect(p).toEqual({
      scheme: 'gpt',
      partitions: [
        { index: 1, offset: 2048 * 512, size: 2048 * 512 },
        { index: 3, offset: 4096 * 512, size: 4096 * 512 },
      ],
    });
  });

  it('says none for a bare filesystem', () => {
    expect(parsePartitionTable(image(4096, []))).toEqual({ scheme: 'none', partitions: [] });
  });
});
