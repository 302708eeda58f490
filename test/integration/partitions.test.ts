import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPartitionTable } from '../../src/core/storage/partition-table';
import { attachLoop, detachLoop, kernelPartition, listLoops, loopInfo } from '../../src/host/loop';
import { cli, ok } from '../helpers/cli';
import { makeTestRoot, removeTestRoot, testName, waitFor } from '../helpers/env';
import { createDiskSubhost, type DiskSubhost } from '../helpers/fixtures';
import { requireInLane } from '../helpers/lane';
import { leftoversOf } from '../helpers/leaks';
import { enterSh, statusOf } from '../helpers/subhost';

// Both ways to a partition, on whatever kernel runs this: the kernel's loopXpN where it parses
// partition tables, else a loop at the partition's offset; SUBHOST_FORCE_OFFSET_LOOPS=1 forces
// the offset loops (without partition scan) also where it parses them. Each run says which.
describe('partitions of disk images', { tags: ['kernel'] }, () => {
  const root = makeTestRoot();
  let sub: DiskSubhost;
  let kernelParses = false;

  beforeAll(async () => {
    sub = await createDiskSubhost(root, testName('p'));
    // The kernel decides: attach with partition scan and look for loopXp1.
    const probe = await attachLoop(sub.disk1, { partscan: true });
    try {
      kernelParses = kernelPartition(probe, 1) !== undefined;
    } finally {
      await detachLoop(probe);
    }
  });
  afterAll(() => {
    cli(['stop', sub.name], { root });
    removeTestRoot(root);
  });

  for (const forced of [false, true]) {
    it(`are usable by the guest through ${forced ? 'offset loops forced by SUBHOST_FORCE_OFFSET_LOOPS=1' : 'the default path'}`, async () => {
      const env = { SUBHOST_FORCE_OFFSET_LOOPS: forced ? '1' : undefined };
      if (!forced) requireInLane('partition parsers (losetup --partscan making loopNp1)', kernelParses);
      const kernels = !forced && kernelParses;
      console.log(`partitions: this kernel ${kernelParses ? 'parses' : 'has no parser for'} partition tables; exercising ${kernels ? "the kernel's loopXpN" : `offset loops${forced ? ' (forced)' : ''}`}`);
      const dry = ok(['boot', sub.name, '--dry-run'], { root, env }).stdout;
      expect(dry).toContain(forced ? 'to a loop at offset 1048576' : ": the kernel's, or a loop at offset");
      ok(['boot', sub.name], { root, env });
      let stopped = '';
      try {
        await waitFor('rc 2', () => enterSh(root, sub.name, 'cat /run/rc.ran').stdout.trim() === '2');
        const s = statusOf(root, sub.name);
        for (const [node, image] of [['vda1', sub.disk1], ['vdb1', sub.disk2!]]) {
          const d = s.disks.find((x: { node: string }) => x.node === node);
          const whole = listLoops().find((l) => l.backingFile === image && l.offset === 0)!;
          expect(whole, `${image}'s whole loop`).toBeDefined();
          if (kernels) expect(d.device).toBe(`${whole.dev}p1`);
          else {
            const part = (await readPartitionTable(image)).partitions.find((p) => p.index === 1)!;
            expect(loopInfo(d.device)).toMatchObject({ backingFile: image, offset: part.offset, sizeLimit: part.size });
          }
          // Forced: no partition scan, so the kernel made no loopXp1 beside the offset loop.
          if (forced) expect(existsSync(`/sys/block/${whole.dev.slice(5)}/${whole.dev.slice(5)}p1`)).toBe(false);
        }
        // The guest's fstab mounted /dev/vdb1 and it takes writes.
        expect(enterSh(root, sub.name, 'grep -c "^/dev/vdb1 /data " /proc/mounts && echo x > /data/w && cat /data/w').stdout).toBe('1\nx\n');
      } finally {
        stopped = ok(['--timings', '--verbose', 'stop', sub.name], { root }).stderr;
      }
      expect(leftoversOf(sub.name)).toEqual([]);
      // Every loop of both images (whole and offset loops) goes in one losetup (or its system calls, from the addon), not one per undo.
      const detaches = stopped.split('\n').filter((l) => / - (\(system call\) )?losetup --detach /.test(l));
      expect(detaches, stopped).toHaveLength(1);
      expect(detaches[0].match(/\/dev\/loop\d+/g)).toHaveLength(kernels ? 2 : 4);
    });
  }
});
