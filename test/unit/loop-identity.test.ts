import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { identityOf } from '../../src/host/file-identity';
import { listLoopIdentities } from '../../src/host/loop-identity';

const dir = mkdtempSync(join(tmpdir(), 'subhost-loop-identity-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function loop(sys: string, n: string, files: Record<string, string>): void {
  mkdirSync(join(sys, n, 'loop'), { recursive: true });
  for (const [f, v] of Object.entries(files)) writeFileSync(join(sys, n, 'loop', f), `${v}\n`);
}

describe('listLoopIdentities from sysfs', () => {
  it('lists attached loops with the identity stat(2) gives their backing file, skipping the rest', async () => {
    const sys = join(dir, 'a');
    const image = join(dir, 'image with space.raw');
    writeFileSync(image, 'x');
    loop(sys, 'loop3', { backing_file: image, offset: '1048576', sizelimit: '32505856' });
    mkdirSync(join(sys, 'loop4'), { recursive: true }); // not attached: no loop/ folder
    loop(sys, 'loop5', { offset: '0' }); // detached meanwhile: no backing_file
    mkdirSync(join(sys, 'sda'), { recursive: true });
    expect(await listLoopIdentities(sys)).toEqual([{ dev: '/dev/loop3', backingFile: image, identity: identityOf(image), offset: 1048576, sizeLimit: 32505856 }]);
  });

  it('asks losetup (the kernel numbers) when an image is deleted: nothing of the fake tree is returned', async () => {
    const sys = join(dir, 'b');
    loop(sys, 'loop7', { backing_file: join(dir, 'gone.raw (deleted)'), offset: '0', sizelimit: '0' });
    const found = await listLoopIdentities(sys);
    expect(found.some((l) => l.dev === '/dev/loop7' && l.backingFile.startsWith(dir))).toBe(false);
  });
});
