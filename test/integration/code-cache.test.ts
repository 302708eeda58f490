import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { BIN } from '../helpers/cli';
import { makeTestRoot, removeTestRoot } from '../helpers/env';

// bin/load-bundle.cjs: a command's first successful run leaves V8's cache of what it compiled
// beside the bundle, for its next runs. Tried on a copy of bin/ and dist/, so that the other tests'
// runs of the checkout's CLI neither see nor disturb these caches.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { commandOf } = require('../../bin/load-bundle.cjs') as { commandOf(args: string[]): string | undefined };

const CHECKOUT = join(BIN, '..', '..');
// Under the tests' root: the leak check sees the read-only mount below if a test dies holding it.
const dir = makeTestRoot();
afterAll(() => removeTestRoot(dir));

const copy = join(dir, 'install');
const bundle = join(copy, 'dist', 'subhost.cjs');
const buildCache = `${bundle}.cache`;
const listCache = `${bundle}.list.cache`;
const root = join(dir, 'root');
const seen = join(dir, 'seen');

beforeEach(() => {
  rmSync(copy, { recursive: true, force: true });
  mkdirSync(join(copy, 'dist'), { recursive: true });
  cpSync(join(CHECKOUT, 'bin'), join(copy, 'bin'), { recursive: true });
  for (const f of ['subhost.cjs', 'subhost.cjs.cache', 'subhost_bpf.node']) cpSync(join(CHECKOUT, 'dist', f), join(copy, 'dist', f), { preserveTimestamps: true });
  mkdirSync(join(root, 'run'), { recursive: true });
});

/** Through NODE_OPTIONS (not Node's command line, which turns the caches' writing off): what cache V8 was given, and its verdict. */
const tracer = join(dir, 'trace.cjs');
writeFileSync(
  tracer,
  `const vm = require('vm'); const fs = require('fs'); const Script = vm.Script;
vm.Script = class extends Script { constructor(source, options) { super(source, options);
  fs.appendFileSync(${JSON.stringify(seen)}, JSON.stringify({ bytes: options && options.cachedData ? options.cachedData.length : 0, rejected: this.cachedDataRejected === true }) + '\\n'); }
  createCachedData() { fs.appendFileSync(${JSON.stringify(seen)}, 'made\\n'); return super.createCachedData(); } };
`,
);

function run(args: string[]): { status: number | null; stderr: string; given: { bytes: number; rejected: boolean }; made: number } {
  rmSync(seen, { force: true });
  const env = { ...process.env, SUBHOST_ROOT: root, SUBHOST_RUN: join(root, 'run'), NODE_OPTIONS: `--require ${tracer}` };
  const r = spawnSync(join(copy, 'bin', 'subhost'), args, { encoding: 'utf8', env });
  const lines = readFileSync(seen, 'utf8').trim().split('\n');
  const given = lines.filter((l) => l !== 'made');
  expect(given).toHaveLength(1);
  return { status: r.status, stderr: r.stderr, given: JSON.parse(given[0]), made: lines.length - given.length };
}

/** The first line of a command's cache: the bundle it was made for (device, inode, size, mtime in ns). */
function header(): string {
  const st = statSync(bundle, { bigint: true });
  return `subhost-code-cache ${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}\n`;
}

describe("a command's own code cache", () => {
  it('is left by its first successful run and given to V8 by the next, instead of the build one', () => {
    const first = run(['list']);
    expect(first.status, first.stderr).toBe(0);
    expect(first.given).toEqual({ bytes: statSync(buildCache).size, rejected: false });
    expect(first.made).toBe(1);
    const data = readFileSync(listCache);
    expect(data.toString('latin1', 0, header().length)).toBe(header());
    // More than the build's: it holds the functions `list` ran, not only the modules' top levels.
    expect(data.length - header().length).toBeGreaterThan(statSync(buildCache).size);

    const second = run(['--verbose', 'list']);
    expect(second.status, second.stderr).toBe(0);
    expect(second.given).toEqual({ bytes: data.length - header().length, rejected: false });
    expect(second.made).toBe(0);
    // Taken, not made again.
    expect(readFileSync(listCache).equals(data)).toBe(true);
  });

  it('is not left by a command that fails, nor by a run without a command', () => {
    expect(run(['logs', 'nosuch']).status).toBe(1);
    expect(run(['--version']).status).toBe(0);
    expect(run(['no-such-command']).status).toBe(2);
    expect(existsSync(`${bundle}.logs.cache`)).toBe(false);
    expect(existsSync(`${bundle}.no-such-command.cache`)).toBe(false);
  });

  it("is not taken for another build of the bundle (V8 would take any cache of the source's length), and is made anew", () => {
    expect(run(['list']).status).toBe(0);
    const old = readFileSync(listCache);
    // A rebuild writes the bundle anew: here its mtime moves.
    const later = new Date(Date.now() + 5000);
    utimesSync(bundle, later, later);
    const r = run(['list']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.given).toEqual({ bytes: statSync(buildCache).size, rejected: false });
    expect(readFileSync(listCache).toString('latin1', 0, header().length)).toBe(header());
    expect(header()).not.toBe(old.toString('latin1', 0, header().length));
  });

  it('is made anew when V8 rejects it (damaged), and the command runs as ever meanwhile', () => {
    expect(run(['list']).status).toBe(0);
    const good = readFileSync(listCache);
    const damaged = Buffer.from(good);
    damaged.fill(0x5a, header().length + 8, header().length + 64);
    writeFileSync(listCache, damaged);
    const r = run(['list']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.given).toEqual({ bytes: damaged.length - header().length, rejected: true });
    // Made from what this run compiled (from the source: no other cache was given).
    expect(readFileSync(listCache).toString('latin1', 0, header().length)).toBe(header());
    expect(run(['list']).given).toEqual({ bytes: statSync(listCache).size - header().length, rejected: false });
  });

  it('is neither made nor written where dist/ cannot be written (a read-only install): every run is given the build one, as before', () => {
    const dist = join(copy, 'dist');
    execFileSync('mount', ['--bind', dist, dist]);
    try {
      execFileSync('mount', ['-o', 'remount,bind,ro', dist, dist]);
      for (let i = 0; i < 2; i++) {
        const r = run(['list']);
        expect(r.status, r.stderr).toBe(0);
        expect(r.given).toEqual({ bytes: statSync(buildCache).size, rejected: false });
        // V8's data is not made only to be thrown away at every run.
        expect(r.made).toBe(0);
      }
      expect(readdirSync(dist).filter((f) => f.includes('.list.'))).toEqual([]);
    } finally {
      execFileSync('umount', [dist]);
    }
  });

  it("is taken alike whether the bundle was read by the addon (an external string) or by fs (without the addon): the two read the same identity", () => {
    expect(run(['list']).status).toBe(0);
    const made = readFileSync(listCache);
    rmSync(join(copy, 'dist', 'subhost_bpf.node'));
    const r = run(['list']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.given).toEqual({ bytes: made.length - header().length, rejected: false });
    // And the other way: a cache left by a run without the addon is the addon's runs' too.
    rmSync(listCache);
    expect(run(['list']).status).toBe(0);
    const withoutAddon = readFileSync(listCache);
    cpSync(join(CHECKOUT, 'dist', 'subhost_bpf.node'), join(copy, 'dist', 'subhost_bpf.node'));
    expect(run(['list']).given).toEqual({ bytes: withoutAddon.length - header().length, rejected: false });
  });

  it('runs a bundle built without its wrapper (an older build script) as Node would wrap it', () => {
    const text = readFileSync(bundle, 'utf8');
    const head = '(function (exports, require, module, __filename, __dirname) {\n';
    expect(text.startsWith(head)).toBe(true);
    const bare = text.slice(head.length).replace(/\n\}\)\n(\/\/# sourceMappingURL=[^\n]*\n?)$/, '\n$1');
    expect(bare.length).toBe(text.length - head.length - 3);
    writeFileSync(bundle, bare);
    const r = run(['list']);
    expect(r.status, r.stderr).toBe(0);
  });

  it("is removed by the build's cache step, with the bundle it was made for", () => {
    expect(run(['list']).status).toBe(0);
    writeFileSync(`${listCache}.tmp-12345`, 'left by a killed run');
    mkdirSync(join(copy, 'scripts'));
    cpSync(join(CHECKOUT, 'scripts', 'code-cache.cjs'), join(copy, 'scripts', 'code-cache.cjs'));
    // The build's step loads every command module: their packages come from the checkout.
    const r = spawnSync(process.execPath, [join(copy, 'scripts', 'code-cache.cjs')], { encoding: 'utf8', env: { ...process.env, NODE_PATH: join(CHECKOUT, 'node_modules') } });
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(listCache)).toBe(false);
    expect(existsSync(`${listCache}.tmp-12345`)).toBe(false);
    expect(existsSync(buildCache)).toBe(true);
  });
});

describe('the command a cache is named after', () => {
  it.each([
    [['boot', 'web1'], 'boot'],
    [['--timings', '--verbose', 'stop', 'web1'], 'stop'],
    [['--root', '/srv/sub', 'list'], 'list'],
    [['--root=/srv/sub', 'list'], 'list'],
    [['_reap', 'web1'], '_reap'],
    [['--version'], undefined],
    [[], undefined],
    [['../../etc/x'], undefined],
    [['Boot'], undefined],
    [['--root'], undefined],
  ])('%j: %s', (args, command) => {
    expect(commandOf(args)).toBe(command);
  });
});
