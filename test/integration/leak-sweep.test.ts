import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Lock } from '../../src/host/flock';
import { run } from '../../src/host/exec';
import { PREFIX, rootPrefixOf } from '../helpers/env';
import { claimPrefix, prefixLockPath, sweepUnclaimedPrefixes } from '../helpers/prefix-claims';

/** n 3-letter prefixes that no process holds now, each claimed here; with whether its lock file was new. */
async function claimFree(n: number): Promise<{ prefix: string; lock: Lock; newFile: boolean }[]> {
  const out: { prefix: string; lock: Lock; newFile: boolean }[] = [];
  for (let c = 0; c < 26 && out.length < n; c++) {
    const prefix = `zq${String.fromCharCode(97 + c)}`;
    if (prefix === PREFIX) continue;
    const newFile = !existsSync(prefixLockPath(prefix));
    const lock = await claimPrefix(prefix, 'leak-sweep test').catch(() => undefined);
    if (lock) out.push({ prefix, lock, newFile });
  }
  if (out.length < n) throw new Error(`no ${n} free prefixes zq?`);
  return out;
}

const linkExists = (name: string) => existsSync(`/sys/class/net/${name}`);

describe('the leak check at the start of a run', () => {
  it("cleans what a killed run of another prefix left (its lock free), and leaves a live run's alone", async () => {
    const [dead, live] = await claimFree(2);
    const tag = (process.pid % 10000).toString();
    const deadBridge = `${dead.prefix}swp${tag}`;
    const liveBridge = `${live.prefix}swp${tag}`;
    const deadRoot = mkdtempSync(rootPrefixOf(dead.prefix));
    const liveRoot = mkdtempSync(rootPrefixOf(live.prefix));
    writeFileSync(join(deadRoot, 'disk.raw'), 'image');
    try {
      await run(['ip', '-batch', '-'], { input: `link add ${deadBridge} type bridge\nlink add ${liveBridge} type bridge\n` });
      // The dead run was killed outright: its objects stay, and nobody holds its lock any more.
      dead.lock.release();
      const said = await sweepUnclaimedPrefixes([PREFIX]);
      expect(said).toContain(`SUBHOST_TEST_PREFIX=${dead.prefix} (no run holds it):`);
      expect(said).toContain(`link: ${deadBridge}`);
      expect(linkExists(deadBridge)).toBe(false);
      expect(existsSync(deadRoot)).toBe(false);
      // The live run's lock is held (here, by this process): nothing of it is touched or named.
      expect(said).not.toContain(live.prefix);
      expect(linkExists(liveBridge)).toBe(true);
      expect(existsSync(liveRoot)).toBe(true);
    } finally {
      for (const b of [deadBridge, liveBridge]) if (linkExists(b)) await run(['ip', 'link', 'del', b], { allowFailure: true });
      for (const r of [deadRoot, liveRoot]) rmSync(r, { recursive: true, force: true });
      for (const c of [dead, live]) {
        c.lock.release();
        if (c.newFile) rmSync(prefixLockPath(c.prefix), { force: true });
      }
    }
  });
});
