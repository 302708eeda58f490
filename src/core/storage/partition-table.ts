import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

export interface Partition {
  /** 1-based number, as the kernel names it (loop0p1, vda5). */
  index: number;
  /** Byte offset and size within the image. */
  offset: number;
  size: number;
}

export interface PartitionTable {
  scheme: 'mbr' | 'gpt' | 'none';
  partitions: Partition[];
}

/** Reads `length` bytes at `offset`; returns fewer at the end of the image. */
export type ReadAt = (offset: number, length: number) => Buffer;

const EXTENDED = new Set([0x05, 0x0f, 0x85]);

function mbrEntries(sector: Buffer): { type: number; start: number; sectors: number }[] {
  const out = [];
  for (let i = 0; i < 4; i++) {
    const e = 446 + i * 16;
    out.push({ type: sector[e + 4], start: sector.readUInt32LE(e + 8), sectors: sector.readUInt32LE(e + 12) });
  }
  return out;
}

function hasMbrSignature(sector: Buffer): boolean {
  return sector.length >= 512 && sector[510] === 0x55 && sector[511] === 0xaa;
}

function readGpt(read: ReadAt, sectorSize: number): Partition[] | undefined {
  const hdr = read(sectorSize, 92);
  if (hdr.length < 92 || hdr.toString('latin1', 0, 8) !== 'EFI PART') return undefined;
  const entriesLba = Number(hdr.readBigUInt64LE(72));
  const count = Math.min(hdr.readUInt32LE(80), 1024);
  const entrySize = hdr.readUInt32LE(84);
  if (entrySize < 128) return undefined;
  const table = read(entriesLba * sectorSize, count * entrySize);
  const parts: Partition[] = [];
  for (let i = 0; i < count && (i + 1) * entrySize <= table.length; i++) {
    const e = table.subarray(i * entrySize, (i + 1) * entrySize);
    if (e.subarray(0, 16).every((b) => b === 0)) continue;
    const first = Number(e.readBigUInt64LE(32));
    const last = Number(e.readBigUInt64LE(40));
    if (last < first) continue;
    parts.push({ index: i + 1, offset: first * sectorSize, size: (last - first + 1) * sectorSize });
  }
  return parts;
}

/** Logical partitions (5, 6, ...) follow a chain of extended boot records. */
function readLogical(read: ReadAt, extStart: number): Partition[] {
  const parts: Partition[] = [];
  let ebr = extStart;
  for (let n = 0; n < 128; n++) {
    const sector = read(ebr * 512, 512);
    if (!hasMbrSignature(sector)) break;
    const [logical, next] = mbrEntries(sector);
    if (logical.type !== 0 && logical.sectors > 0) {
      parts.push({ index: 5 + n, offset: (ebr + logical.start) * 512, size: logical.sectors * 512 });
    }
    if (next.type === 0 || next.start === 0) break;
    ebr = extStart + next.start;
  }
  return parts;
}

/** Parse an MBR or GPT partition table, the way the kernel's parsers number partitions. */
export function parsePartitionTable(read: ReadAt): PartitionTable {
  const mbr = read(0, 512);
  if (!hasMbrSignature(mbr)) {
    for (const ss of [512, 4096]) {
      const gpt = readGpt(read, ss);
      if (gpt) return { scheme: 'gpt', partitions: gpt };
    }
    return { scheme: 'none', partitions: [] };
  }
  const entries = mbrEntries(mbr);
  if (entries.some((e) => e.type === 0xee)) {
    for (const ss of [512, 4096]) {
      const gpt = readGpt(read, ss);
      if (gpt) return { scheme: 'gpt', partitions: gpt };
    }
  }
  const parts: Partition[] = [];
  entries.forEach((e, i) => {
    if (e.type === 0 || e.sectors === 0) return;
    if (EXTENDED.has(e.type)) parts.push(...readLogical(read, e.start));
    else parts.push({ index: i + 1, offset: e.start * 512, size: e.sectors * 512 });
  });
  parts.sort((a, b) => a.index - b.index);
  return { scheme: 'mbr', partitions: parts };
}

/** Read the table of an image file or block device. */
export function readPartitionTable(path: string): PartitionTable & { size: number } {
  const fd = openSync(path, 'r');
  try {
    const read: ReadAt = (offset, length) => {
      const buf = Buffer.alloc(length);
      const n = readSync(fd, buf, 0, length, offset);
      return buf.subarray(0, n);
    };
    const st = fstatSync(fd);
    return { ...parsePartitionTable(read), size: st.size };
  } finally {
    closeSync(fd);
  }
}
