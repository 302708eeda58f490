import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BASE_PATH } from '../../src/host/exec';
import { BIN } from '../helpers/cli';
import { makeTestRoot, removeTestRoot, testMac, testName } from '../helpers/env';
import { addInstance, clusterUp, disksActive, gnt, NODE, okOnNode, onNode, removeInstance, UTS } from '../helpers/ganeti';
import { leftoversOf } from '../helpers/leaks';
import { statusOf } from '../helpers/subhost';

/** The runnable blocks of docs/RESCUE.md (```sh), in order, with their section headings. */
function runbookBlocks(): { section: string; script: string }[] {
  const text = readFileSync(join(__dirname, '../../docs/RESCUE.md'), 'utf8');
  const blocks: { section: string; script: string }[] = [];
  let section = '';
  for (const m of text.matchAll(/^## (.*)$|^```sh\n([\s\S]*?)^```$/gm)) {
    if (m[1]) section = m[1];
    else blocks.push({ section, script: m[2] });
  }
  return blocks;
}

describe('docs/RESCUE.md on a single-node Ganeti cluster', () => {
  let root: string;
  const name = testName('r');
  const inst = `${name}.gnt.test`;
  const blocks = runbookBlocks();
  /** A block as the operator runs it: bash, on the node (its host name), set -e. */
  const runBlock = (script: string) => {
    const env = { ...process.env, PATH: `${dirname(BIN)}:${BASE_PATH}`, SUBHOST_ROOT: root, NAME: name, INSTANCE: inst, NODE, LC_ALL: 'C' };
    const r = spawnSync('nsenter', [`--uts=${UTS}`, 'bash', '-euo', 'pipefail', '-c', `${blocks[0].script}\n${script}`], { env, encoding: 'utf8', timeout: 300_000 });
    expect(r.status, `${script}\n${r.stderr}${r.stdout}`).toBe(0);
    return r.stdout;
  };
  const block = (section: string) => blocks.find((b) => b.section.startsWith(section))!.script;

  beforeAll(async () => {
    root = makeTestRoot();
    await clusterUp();
    await addInstance(inst, { mac: testMac(0x73) });
    okOnNode(['gnt-start', inst], { root });
  }, 300_000);

  afterAll(async () => {
    onNode(['gnt-stop', inst], { root });
    await gnt(['gnt-cluster', 'watcher', 'continue']).catch(() => undefined);
    await removeInstance(inst);
    removeTestRoot(root);
  }, 300_000);

  it('has its runnable blocks where the steps say', () => {
    expect(blocks.map((b) => b.section)).toEqual(['', '1. See what runs and what was left', '2. Release it', '3. Check the filesystems', '4. Take the node out of the cluster', '5. Return the node']);
  });

  it('1: list and status show the instance', () => {
    expect(runBlock(block('1.'))).toMatch(new RegExp(`${name} +running .*${inst.replace(/\./g, '\\.')}@${NODE.replace(/\./g, '\\.')}`));
  });

  it('2: releases it: disks deactivated, nothing of it left', async () => {
    runBlock(block('2.'));
    expect(statusOf(root, name).state).toBe('stopped');
    expect(await disksActive(inst)).toBe(false);
    expect(leftoversOf(name)).toEqual([]);
  });

  it('3: checks its root filesystem and gives the disks back', async () => {
    runBlock(block('3.'));
    expect(await disksActive(inst)).toBe(false);
    expect(leftoversOf(name)).toEqual([]);
  });

  it("4: pauses the watcher and shows the node's instances", async () => {
    expect(runBlock(block('4.'))).toMatch(new RegExp(`^${NODE.replace(/\./g, '\\.')} +Y +N +N +${inst.replace(/\./g, '\\.')} `, 'm'));
    expect((await gnt(['gnt-cluster', 'watcher', 'info'])).stdout).toMatch(/paused/i);
  });

  it('5: lets the watcher go on and boots the instance again', async () => {
    runBlock(block('5.'));
    expect((await gnt(['gnt-cluster', 'watcher', 'info'])).stdout).not.toMatch(/paused until/i);
    expect(statusOf(root, name).state).toBe('running');
  });
});
