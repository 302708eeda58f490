import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ImageProbes, probeable } from '../../src/core/config/image-probes';
import { hostIfname } from '../../src/core/config/names';
import { nameCandidates } from '../../src/core/inspect/resources';

describe('per-subhost scans', () => {
  it("asks only the links named as boot names NAME's host ends for their alias", () => {
    const links = ['lo', 'eth0', 'br0', 'a', 'a0', 'a1', 'a12', 'ab0', 'a-1', 'a1x', 'xa0', 'a10b'];
    expect(nameCandidates(links, 'a')).toEqual(['a0', 'a1', 'a12']);
    // a12 may be a's 13th link or a1's third: the alias tells them apart.
    expect(nameCandidates(links, 'a1')).toEqual(['a12']);
    expect(nameCandidates(links, 'eth')).toEqual(['eth0']);
  });

  it('never leaves out a link boot made', () => {
    for (const name of ['a', 'web-1', 'n0', 'abcdefghijklm']) {
      const made = Array.from({ length: 12 }, (_, i) => hostIfname(name, i));
      expect(nameCandidates([...made, 'lo', `${name}x`], name)).toEqual(made);
    }
  });
});

describe('image probes', () => {
  it('reads early only a regular file, or a block device where one is allowed: never a FIFO, which would block partx', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pfc-probe-'));
    try {
      const file = join(dir, 'disk.raw');
      writeFileSync(file, '');
      const fifo = join(dir, 'fifo');
      execFileSync('mkfifo', [fifo]);
      expect(probeable(file, false)).toBe(true);
      expect(probeable(fifo, true)).toBe(false);
      expect(probeable(dir, true)).toBe(false);
      expect(probeable(join(dir, 'missing'), true)).toBe(false);
      const block = ['/dev/loop0', '/dev/sda', '/dev/vda'].find((d) => existsSync(d) && statSync(d).isBlockDevice());
      if (block) {
        expect(probeable(block, true)).toBe(true);
        expect(probeable(block, false)).toBe(false);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs each probe once and hands the same result to every check that asks', async () => {
    const probes = new ImageProbes();
    const missing = '/nonexistent/pfc-disk.raw';
    const a = probes.table(missing);
    expect(probes.table(missing)).toBe(a);
    await expect(a).rejects.toThrow();
    const t = probes.type(missing, 512, 1024);
    expect(probes.type(missing, 512, 1024)).toBe(t);
    expect(probes.type(missing)).not.toBe(t);
    await probes.settled();
    expect((await t).problem).toMatch(/holds no filesystem/);
  });
});
