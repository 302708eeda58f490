import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/host/exec';
import { BIN, cli } from '../helpers/cli';
import { makeTestRoot, PREFIX, removeTestRoot, testName } from '../helpers/env';
import { leftoversOf } from '../helpers/leaks';
import { createBridge, deleteBridge } from '../helpers/net';

const HOWTO = join(__dirname, '../../docs/HOWTO.md');

/** The sh blocks of the HOWTO, in order, each with the title of its section. */
export function howtoBlocks(text: string): { section: string; script: string }[] {
  const out: { section: string; script: string }[] = [];
  let section = '';
  const re = /^## (.*)$|^```sh\n([\s\S]*?)^```$/gm;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m[1]) section = m[1];
    else out.push({ section, script: m[2] });
  }
  return out;
}

describe('docs/HOWTO.md, run as written (with a test root, bridge and name)', () => {
  const root = makeTestRoot();
  const bridge = `${PREFIX}hwb${process.pid % 10000}`;
  const name = testName('w');
  const bin = mkdtempSync(join(root, 'bin-'));
  beforeAll(async () => {
    await createBridge(bridge);
    // `subhost` on PATH, as an installed one would be.
    writeFileSync(join(bin, 'subhost'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} "$@"\n`);
    chmodSync(join(bin, 'subhost'), 0o755);
  });
  afterAll(async () => {
    cli(['stop', name], { root });
    await deleteBridge(bridge);
    removeTestRoot(root);
  });

  const adapt = (script: string) =>
    script
      .replaceAll('/opt/sub', root)
      .replaceAll('/var/lib/subhost', join(root, 'var-lib'))
      .replace(/\bweb1\b/g, name)
      .replace(/\bbr0\b/g, bridge);

  it('has a block for every task, and every block runs', async () => {
    const blocks = howtoBlocks(readFileSync(HOWTO, 'utf8'));
    expect(blocks.map((b) => b.section)).toEqual(expect.arrayContaining(['1. Make a subhost', '2. Boot it, look at it, enter it', '3. Give it limits and a DHCP reservation', '4. Watch its usage', '6. Power it off and remove it']));
    const outputs: string[] = [];
    for (const b of blocks) {
      const r = await run(['bash', '-e', '-c', adapt(b.script)], { allowFailure: true, timeoutMs: 300_000, env: { PATH: `${bin}:${process.env.PATH}`, SUBHOST_ROOT: root } });
      expect(r.code, `HOWTO section "${b.section}":\n${adapt(b.script)}\n${r.stderr}${r.stdout}`).toBe(0);
      outputs.push(r.stdout);
    }
    const all = outputs.join('\n');
    expect(all).toContain(`${name}: made ${root}/${name} (disk1.raw, booted and powered off once)`);
    expect(all).toContain('ADDRESSES=( 10.0.0.5/24 )');
    expect(all).toMatch(new RegExp(`^[0-9a-f:]{17},10\\.0\\.0\\.5,${name}  # ${name} eth0 on ${bridge}$`, "m"));
    expect(all).toContain(`${name}: already running`);
    expect(existsSync(join(root, name))).toBe(false);
    expect(leftoversOf(name)).toEqual([]);
  });
});
