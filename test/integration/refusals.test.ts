import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/host/exec';
import { makeDiskImage } from '../fixtures/image/disk-image';
import { cli } from '../helpers/cli';
import { makeTestRoot, PREFIX, removeTestRoot } from '../helpers/env';
import { expectRefused, withConfig } from '../helpers/refused';

// Issue 12, class 7: refused before anything is touched, in one line, and the same in --dry-run.
describe('refusals that used to come late or never', () => {
  const root = makeTestRoot();
  const image = join(root, 'disk.raw');
  beforeAll(() => makeDiskImage(image, { sizeMiB: 8 }));
  afterAll(() => removeTestRoot(root));
  const both = (name: string, message: RegExp) => {
    for (const args of [['boot', name, '--dry-run'], ['boot', name]]) expectRefused(root, args, 1, message);
  };

  it.each([
    ['11 bridges (NAME10 would collide with the link of a subhost NAME1)', () => `BRIDGES=( ${Array.from({ length: 11 }, () => 'br0').join(' ')} )`, /BRIDGES\[10\] \("br0"\): at most 10 interfaces: host links are \S+0 to \S+9/],
    ['PIDS beyond the kernel range', () => 'PIDS=4194305', /PIDS \("4194305"\): must be at most 4194304/],
    ['PIDS too long to be a number', () => 'PIDS=99999999999999999999999', /PIDS .*: must be at most 4194304/],
    ['MEMORY beyond what can be written exactly', () => 'MEMORY=100000T', /MEMORY \("100000T"\): must be at most 8P/],
    ['CPUS below the kernel minimum', () => 'CPUS=0.001', /CPUS \("0.001"\): must be at least 0.01/],
  ])('refuses %s', (_what, config, message) => {
    both(withConfig(root, `DISKS=( vda:1:${image} )\n${config()}\n`), message);
  });

  it('refuses an image without write permission (root would write it anyway)', async () => {
    const ro = join(root, 'readonly.raw');
    await makeDiskImage(ro, { sizeMiB: 8 });
    chmodSync(ro, 0o444);
    both(withConfig(root, `DISKS=( vda:1:${ro} )\n`), new RegExp(`DISKS\\[0\\] .*: image ${ro} has no write permission`));
  });

  // Looked for among the host's loop devices by the image's identity (no test reached this refusal before).
  it('refuses an image that a loop device of the host holds already', async () => {
    const held = join(root, 'held.raw');
    await makeDiskImage(held, { sizeMiB: 8 });
    const loop = (await run(['losetup', '--show', '-f', held])).stdout.trim();
    try {
      both(withConfig(root, `DISKS=( vda:1:${held} )\n`), new RegExp(`DISKS\\[0\\] .*: image ${held} is already attached to ${loop} \\(in use, or left over: \`subhost check-mounts\`\\)$`, 'm'));
    } finally {
      await run(['losetup', '-d', loop]);
    }
  });

  it('accepts NAME sx-- without HOSTNAME (it is the host name as it is)', () => {
    const name = `${PREFIX}x--`;
    mkdirSync(join(root, name));
    writeFileSync(join(root, name, 'config'), `DISKS=( vda:1:${image} )\n`);
    const r = cli(['boot', name, '--dry-run'], { root });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('names the config file it looked for when there is none', () => {
    const name = `${PREFIX}nocfg`;
    mkdirSync(join(root, name));
    both(name, new RegExp(`there is no config file ${join(root, name, 'config')}`));
  });
});
