export interface MbrPartition {
  /** First sector (512 bytes) and number of sectors. */
  start: number;
  sectors: number;
  /** Partition type: 0x83 Linux. */
  type?: number;
  bootable?: boolean;
}

/** A classic MBR sector with up to four primary partitions (pure; the parser reads it back). */
export function buildMbr(parts: MbrPartition[], diskId = 0x5b0057): Buffer {
  if (parts.length > 4) throw new Error('an MBR holds at most 4 primary partitions');
  const mbr = Buffer.alloc(512);
  mbr.writeUInt32LE(diskId >>> 0, 440);
  parts.forEach((p, i) => {
    const e = 446 + i * 16;
    mbr[e] = p.bootable ? 0x80 : 0;
    // CHS fields unused by Linux: mark them as "beyond CHS" like fdisk does.
    mbr.fill(0xff, e + 1, e + 4);
    mbr[e + 4] = p.type ?? 0x83;
    mbr.fill(0xff, e + 5, e + 8);
    mbr.writeUInt32LE(p.start, e + 8);
    mbr.writeUInt32LE(p.sectors, e + 12);
  });
  mbr[510] = 0x55;
  mbr[511] = 0xaa;
  return mbr;
}
