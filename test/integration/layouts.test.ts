import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/host/exec';
import { listLoops } from '../../src/host/loop';
import { cli, ok } from '../helpers/cli';
import { makeTestRoot, removeTestRoot, testName, PREFIX } from '../helpers/env';
import { createBusyboxTree, createLayerSubhost, type LayerSubhost } from '../helpers/fixtures';
import { leftoversOf } from '../helpers/leaks';
import { bootAndSettle, enterSh, statusOf } from '../helpers/subhost';

/** A file inside an ext4 image, read without mounting it. */
async function catInImage(image: string, path: string): Promise<string> {
  return (await run(['debugfs', '-R', `cat ${path}`, image])).stdout;
}

describe('directory subhosts and NAME.img', () => {
  const root = makeTestRoot();
  const base = join(root, 'base');
  const sh = (name: string, script: string) => enterSh(root, name, script);
  const status = (name: string) => statusOf(root, name);
  const left = (name: string) => leftoversOf(name);
  const subs: LayerSubhost[] = [];

  // The test root is a shared mount (as / is on systemd hosts): a bind from it joins its peer group.
  const ownMount = (dir: string) => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === dir);
  let operatorMount: string;

  beforeAll(async () => {
    await createBusyboxTree(base);
    await run(['mount', '--bind', root, root]);
    await run(['mount', '--make-shared', root]);
  });
  afterAll(async () => {
    for (const s of subs) cli(['stop', s.name], { root });
    if (operatorMount) await run(['umount', operatorMount], { allowFailure: true });
    await run(['umount', root], { allowFailure: true });
    removeTestRoot(root);
  });

  it('directory: root/ is rbind-mounted, private, on live; boot and start both work on it', async () => {
    const d = await createLayerSubhost(root, testName('d'), { rootTree: true });
    subs.push(d);
    // A mount of the operator's inside root/: the guest sees it, and stop leaves it alone.
    operatorMount = join(d.dir, 'root/mnt');
    await run(['mount', '-t', 'tmpfs', `${PREFIX}-operator`, operatorMount]);
    writeFileSync(join(operatorMount, 'theirs'), 'theirs\n');
    const notTheirs = () => left(d.name).filter((l) => l.id !== operatorMount);

    expect(ok(['boot', d.name, '--dry-run'], { root }).stdout).toContain(`rbind ${join(d.dir, 'root')} on ${join(d.dir, 'live')}, private`);
    await bootAndSettle(root, d.name);
    expect(status(d.name)).toMatchObject({ state: 'running', kind: 'directory', writable: join(d.dir, 'root') });
    expect(status(d.name).base).toBeUndefined();
    expect(ownMount(root)).toMatch(/ shared:\d+/);
    // Private: no peer group ties live (or its copy of the operator's mount) to root/.
    expect(ownMount(join(d.dir, 'live'))).not.toMatch(/ shared:\d+/);
    expect(ownMount(join(d.dir, 'live/mnt'))).not.toMatch(/ shared:\d+/);
    expect(sh(d.name, 'cat /mnt/theirs').stdout).toBe('theirs\n');
    expect(sh(d.name, 'echo booted > /root/note').code).toBe(0);
    expect(readFileSync(join(d.dir, 'root/root/note'), 'utf8')).toBe('booted\n');
    ok(['poweroff', d.name], { root });
    expect(notTheirs()).toEqual([]);
    expect(ownMount(operatorMount)).toBeDefined();
    expect(readFileSync(join(operatorMount, 'theirs'), 'utf8')).toBe('theirs\n');

    const r = cli(['start', d.name], { root, input: 'cat /root/note; echo started > /root/note2\n' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('booted\n');
    expect(readFileSync(join(d.dir, 'root/root/note2'), 'utf8')).toBe('started\n');
    expect(status(d.name).state).toBe('hibernated');
    ok(['stop', d.name], { root });
    expect(notTheirs()).toEqual([]);
    // The root folder and the operator's mount in it are untouched by stop.
    expect(existsSync(join(d.dir, 'root/bin/busybox'))).toBe(true);
    expect(ownMount(operatorMount)).toBeDefined();
  });

  it('NAME.img with BASE: root/ and work/ inside the image are the overlay upper and work dirs', async () => {
    const o = await createLayerSubhost(root, testName('i'), { base, imageFolders: ['root', 'work'] });
    subs.push(o);
    const mnt = join(o.dir, 'mnt');
    const plan = ok(['start', o.name, '--dry-run'], { root }).stdout;
    expect(plan).toContain(`mount ${o.image} on ${mnt} (it holds root/ and work/)`);
    expect(plan).toContain(`${join(mnt, 'root')} (writable, work dir ${join(mnt, 'work')}) over ${base} (read-only)`);

    const r = cli(['start', o.name], { root, input: 'echo in-image > /etc/in-image\n' });
    expect(r.code, r.stderr).toBe(0);
    const st = status(o.name);
    expect(st).toMatchObject({ state: 'hibernated', kind: 'overlay', base, writable: join(mnt, 'root'), imageFile: o.image });
    const loop = listLoops().find((l) => l.backingFile === o.image);
    expect(loop).toBeDefined();
    const kept = st.kept.map((k: { kind: string; id: string }) => `${k.kind} ${k.id}`);
    expect(kept).toEqual(expect.arrayContaining([`mount ${join(o.dir, 'live')}`, `mount ${mnt}`, `loop ${loop!.dev}`]));
    expect(ok(['status', o.name], { root }).stdout).toContain(`  writable    ${join(mnt, 'root')} (in ${o.image})\n`);
    expect(readFileSync(join(mnt, 'root/etc/in-image'), 'utf8')).toBe('in-image\n');
    expect(existsSync(join(base, 'etc/in-image'))).toBe(false);

    const again = cli(['start', o.name], { root, input: 'cat /etc/in-image\n' });
    expect(again.stdout).toBe('in-image\n');
    expect(listLoops().find((l) => l.backingFile === o.image)?.dev).toBe(loop!.dev);

    ok(['stop', o.name], { root });
    expect(left(o.name)).toEqual([]);
    expect(listLoops().some((l) => l.backingFile === o.image)).toBe(false);
    expect(await catInImage(o.image!, '/root/etc/in-image')).toBe('in-image\n');
  });

  it('NAME.img without BASE: its root/ is the root filesystem, for boot too', async () => {
    const i = await createLayerSubhost(root, testName('j'), { rootTree: true, imageFolders: ['root', 'work'] });
    subs.push(i);
    await bootAndSettle(root, i.name);
    expect(status(i.name)).toMatchObject({ state: 'running', mode: 'boot', kind: 'directory', writable: join(i.dir, 'mnt/root'), imageFile: i.image });
    expect(sh(i.name, 'echo on-image > /root/marker && sync').code).toBe(0);
    ok(['poweroff', i.name], { root });
    expect(left(i.name)).toEqual([]);
    expect(await catInImage(i.image!, '/root/root/marker')).toBe('on-image\n');
    const fsck = await run(['e2fsck', '-fn', i.image!], { allowFailure: true });
    expect(fsck.code, fsck.stdout + fsck.stderr).toBe(0);
  });
});
