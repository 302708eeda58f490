import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, ok } from '../helpers/cli';
import { makeTestRoot, removeTestRoot, testName } from '../helpers/env';
import { createBusyboxTree, createDiskSubhost, createLayerSubhost, type DiskSubhost } from '../helpers/fixtures';
import { expectRefused as refused, withConfig as configured } from '../helpers/refused';
import { startFromPipe } from '../helpers/session';
import { bootAndSettle, statusOf } from '../helpers/subhost';

/** Overlay, directory and image layouts, and start: one line naming what and why, nothing left behind. */
describe('bad input for overlay and directory subhosts, and for start', () => {
  const root = makeTestRoot();
  const base = join(root, 'base');
  let booted: DiskSubhost;

  beforeAll(async () => {
    await createBusyboxTree(base);
    booted = await createDiskSubhost(root, testName('k'), { dataDisk: false });
    // Settled (rc 2 done), so that its processes hold still while we compare.
    await bootAndSettle(root, booted.name);
  });
  afterAll(() => {
    cli(['stop', booted.name], { root });
    removeTestRoot(root);
  });

  // A shell that ran would print this: a refused start must never get that far.
  const expectRefused = (args: string[], message: RegExp) => refused(root, args, 1, message, 'echo the shell ran\n');
  const withConfig = (config: string) => configured(root, config);

  it.each(['boot', 'start'])('%s: refuses a BASE that does not exist', (cmd) => {
    expectRefused([cmd, withConfig(`BASE=${root}/nonexistent`)], new RegExp(`BASE \\("${root}/nonexistent"\\): does not exist`));
  });

  it.each(['boot', 'start'])('%s: refuses a BASE that is not a directory', (cmd) => {
    const file = join(root, 'a-file');
    writeFileSync(file, 'not a directory\n');
    expectRefused([cmd, withConfig(`BASE=${file}`)], new RegExp(`BASE \\("${file}"\\): is not a directory`));
  });

  it.each(['boot', 'start'])('%s: refuses a relative BASE', (cmd) => {
    expectRefused([cmd, withConfig('BASE=relative/base')], /BASE \("relative\/base"\): must be an absolute path/);
  });

  it.each(['boot', 'start'])('%s: refuses a subhost with neither DISKS, BASE nor root/', (cmd) => {
    const name = withConfig('HOSTNAME=nothing');
    expectRefused([cmd, name], new RegExp(`subhost ${name}: DISKS and BASE are not set in .*/config and ${root}/${name}/root does not exist: nothing to use as the root filesystem`));
  });

  it.each([
    ['root/', ['work'] as const, base, /\.img has no root\/ folder at its top \(it must hold root\/ and work\/\)/],
    ['work/ (with BASE)', ['root'] as const, base, /\.img has no work\/ folder at its top \(it must hold root\/ and work\/\)/],
    ['root/ (without BASE)', ['work'] as const, undefined, /\.img has no root\/ folder at its top \(it must hold root\/\)/],
  ])('refuses NAME.img without %s, and undoes its mount and loop device', async (_what, folders, withBase, message) => {
    const sub = await createLayerSubhost(root, testName('m'), { base: withBase, imageFolders: [...folders] });
    for (const cmd of ['boot', 'start']) expectRefused([cmd, sub.name], message);
  });

  it('refuses a NAME.img that is not a file', () => {
    const name = withConfig(`BASE=${base}`);
    mkdirSync(join(root, name, `${name}.img`));
    expectRefused(['start', name], new RegExp(`${name}\\.img: is not a regular file`));
  });

  it('refuses to start a subhost that runs under boot, which keeps running', () => {
    const pid1 = statusOf(root, booted.name).pid1;
    expectRefused(['start', booted.name], new RegExp(`^subhost: subhost ${booted.name} is running under \`subhost boot\` \\(subhost-init is its PID 1\\): \`subhost enter ${booted.name}\` opens a shell in it\\n$`));
    expect(statusOf(root, booted.name)).toMatchObject({ state: 'running', mode: 'boot', pid1 });
  });

  it('refuses start --dry-run the same way, and bad usage with exit 2', () => {
    expectRefused(['start', booted.name, '--dry-run'], /is running under `subhost boot`/);
    const r = cli(['start'], { root });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("subhost: missing required argument 'name'\n");
  });

  it('refuses start and boot of a subhost in a start session, and boot of a hibernated one', async () => {
    const sub = await createLayerSubhost(root, testName('s'), { base });
    const s = startFromPipe(sub.name, root);
    try {
      s.write('echo UP-$((2*21))\n');
      await s.expectOutput('UP-42');
      expectRefused(['start', sub.name], new RegExp(`subhost ${sub.name} is already running: its shell is PID 1 \\(pid \\d+\\), on the terminal of \`subhost start\` \\(pid ${s.child.pid}\\)`));
      expectRefused(['boot', sub.name], new RegExp(`subhost ${sub.name} is already running`));
      expect((await s.end()).code).toBe(0);
    } finally {
      s.kill();
    }
    expectRefused(['boot', sub.name], new RegExp(`subhost ${sub.name} is hibernated: \`subhost start ${sub.name}\` resumes it, \`subhost stop ${sub.name}\` releases it`));
    ok(['stop', sub.name], { root });
  });
});
