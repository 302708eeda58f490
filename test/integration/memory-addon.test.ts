import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ADDON = join(__dirname, '../../native/bpf/build/Release/subhost_bpf.node');

/** Run a script in a fresh node with the addon as `a` and rss() reading RssFile (KiB); its stdout, as JSON. */
function inNode(script: string): any {
  const pre = `const a = require(${JSON.stringify(ADDON)}); const rss = () => Number(/^RssFile:\\s+(\\d+)/m.exec(require('fs').readFileSync('/proc/self/status', 'latin1'))[1]);`;
  const r = spawnSync(process.execPath, ['-e', `${pre}\n${script}`], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

// The daemon's memory calls (native/bpf/memory.c), in a node process of their own.
describe("the addon's memory calls", () => {
  it("releaseFilePages: the start-up's pages of node's binary leave RSS, and the process works on (its relocated and written pages kept)", () => {
    const r = inNode(`
      const before = rss();
      const advised = a.releaseFilePages();
      const after = rss();
      // Code not run before the call (zlib, a C++ module of node's) and data written before it.
      const zlib = require('node:zlib');
      const text = 'subhost '.repeat(10000);
      const round = zlib.inflateSync(zlib.deflateSync(Buffer.from(text))).toString() === text;
      const crypto = require('node:crypto').createHash('sha256').update(text).digest('hex');
      console.log(JSON.stringify({ before, advised, after, round, crypto }));
    `);
    expect(r.round).toBe(true);
    expect(r.crypto).toBe(require('node:crypto').createHash('sha256').update('subhost '.repeat(10000)).digest('hex'));
    expect(r.advised).toBeGreaterThan(r.before * 1024);
    // What a fresh node touched of its binary at start is mostly gone (here: 34 -> 12 MiB).
    expect(r.after).toBeLessThan(r.before / 2);
  });

  it('mallocTrim gives the C heap back and says whether it did', () => {
    expect(typeof inNode('console.log(JSON.stringify(a.mallocTrim()))')).toBe('boolean');
  });
});
