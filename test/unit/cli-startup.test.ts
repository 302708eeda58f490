import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, cli } from '../helpers/cli';

// The built CLI (bin/subhost, dist/): what an operator's `subhost --version` loads.
const dir = mkdtempSync(join(tmpdir(), 'subhost-startup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every module the process requires and every native addon it opens, by name, run with `args`. */
function loaded(args: string[], env: Record<string, string> = {}): string[] {
  const tracer = join(dir, 'trace.cjs');
  writeFileSync(
    tracer,
    // Written as it goes, through NODE_OPTIONS, until the command is done (beforeExit, before the
    // CLI's own end opens the addon for _exit): an exit listener or a flag on Node's command line
    // would turn that end off, so the test would not run the CLI as an operator does.
    `const M = require('module'); const fs = require('fs'); const out = ${JSON.stringify(join(dir, 'seen'))}; fs.writeFileSync(out, '');
let done = false;
process.once('beforeExit', () => (done = true));
const note = (what) => done || fs.appendFileSync(out, what + '\\n');
const load = M._load; M._load = function (r, ...a) { note(r); return load.call(this, r, ...a); };
const dl = process.dlopen; process.dlopen = function (m, f, ...a) { note('dlopen ' + f); return dl.call(this, m, f, ...a); };
`,
  );
  const r = spawnSync(BIN, args, { encoding: 'utf8', env: { ...process.env, ...env, NODE_OPTIONS: `--require ${tracer}` } });
  expect(r.status, r.stderr).toBe(0);
  return readFileSync(join(dir, 'seen'), 'utf8').split('\n').filter(Boolean);
}

describe('the CLI start-up', () => {
  // bin/subhost's loader, commander and the bpf addon (every command's end is its _exit, and its
  // start closes the inherited descriptors with it); everything else (commands, SQLite,
  // cli-progress's readline, the daemon's http) loads only when a command runs.
  // Not node:child_process (commander's is required at its first use), nor what creating
  // process.stdout loads (node:net, node:stream): the CLI writes with write(2) (cli/std-streams.ts).
  const LEAN = ['node:fs', 'node:path', 'node:vm', 'node:module', 'node:events', 'node:process'];

  it.each([[['--version']], [['--help']], [['bootstrap', '--help']]])('%j loads only the loader, commander and the addon: no command module or library', (args) => {
    const modules = loaded(args).filter((m) => m !== BIN && m !== './load-bundle.cjs' && !/^dlopen .*\/subhost_bpf\.node$/.test(m));
    expect(modules.filter((m) => !LEAN.includes(m))).toEqual([]);
  });

  it.each([[['list']], [['stop', 'nosuch']]])('%j loads neither node:crypto nor node:fs/promises (5 ms and 2-5 ms of a start), nor what a command that spawns nothing never needs', (args) => {
    const root = mkdtempSync(join(tmpdir(), 'subhost-startup-root-'));
    try {
      // Its own run folder too: stop takes NAME's lock there, and the host's /run/subhost is not the test's.
      const modules = loaded(args, { SUBHOST_ROOT: root, SUBHOST_RUN: join(root, 'run') });
      const heavy = ['node:crypto', 'node:fs/promises', 'node:child_process', 'node:net', 'node:stream'];
      expect(modules.filter((m) => heavy.includes(m))).toEqual([]);
      // Opened once, by bin/load-bundle.cjs, and that instance used by the bundle: a second dlopen
      // would initialise the module again, a second instance of it, for 1 ms.
      expect(modules.filter((m) => m.startsWith('dlopen '))).toEqual([expect.stringMatching(/\/dist\/subhost_bpf\.node$/)]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('--help lists every command of SPEC §3-§5', () => {
    const help = cli(['--help']).stdout;
    const commands = [...help.matchAll(/^ {2}([a-z][\w-]*)/gm)].map((m) => m[1]);
    for (const c of ['boot', 'start', 'enter', 'poweroff', 'stop', 'list', 'status', 'logs', 'autostart', 'usage', 'report', 'daemon', 'check-mounts', 'bootstrap', 'dhcp', 'gnt-start', 'gnt-stop', 'go']) {
      expect(commands).toContain(c);
    }
  });

  it('bin/subhost keeps NODE_EXTRA_CA_CERTS from Node\'s start and hands it on as SUBHOST_EXTRA_CA_CERTS', () => {
    // Node 20 loads that file at every start and warns when it cannot: no warning, no load.
    const env = { ...process.env, NODE_EXTRA_CA_CERTS: join(dir, 'no-such-ca.pem') };
    const direct = spawnSync(process.execPath, [BIN, '--version'], { encoding: 'utf8', env });
    expect(direct.stderr).toMatch(/Ignoring extra certs/);
    const r = spawnSync(BIN, ['--version'], { encoding: 'utf8', env });
    expect(r).toMatchObject({ status: 0, stderr: '' });
    const tracer = join(dir, 'env.cjs');
    writeFileSync(tracer, `require('fs').writeFileSync(${JSON.stringify(join(dir, 'env.json'))}, JSON.stringify(process.env));`);
    expect(spawnSync(BIN, ['--version'], { env: { ...env, NODE_OPTIONS: `--require ${tracer}` } }).status).toBe(0);
    const seen = JSON.parse(readFileSync(join(dir, 'env.json'), 'utf8')) as Record<string, string>;
    expect(seen.NODE_EXTRA_CA_CERTS).toBeUndefined();
    expect(seen.SUBHOST_EXTRA_CA_CERTS).toBe(env.NODE_EXTRA_CA_CERTS);
  });

  describe('a finished command', () => {
    const own = (root: string) => ({ ...process.env, SUBHOST_ROOT: root, SUBHOST_RUN: join(root, 'run') });

    it.each([
      [['--version'], 0],
      [['stop', 'nosuch'], 0],
      [['logs', 'nosuch'], 1],
      [['boot', 'bad/name'], 1],
      [['boot'], 2],
    ])('%j ends with _exit(2) and its status: none of Node\'s threads is joined by a teardown', (args, status) => {
      const root = mkdtempSync(join(tmpdir(), 'subhost-exit-'));
      try {
        const trace = join(root, 'strace');
        const r = spawnSync('strace', ['-f', '-qq', '-e', 'trace=exit,exit_group', '-o', trace, BIN, ...(args as string[])], { encoding: 'utf8', env: own(root) });
        expect(r.status, r.stderr).toBe(status);
        const calls = readFileSync(trace, 'utf8');
        // Node's own exit joins its platform's worker threads, each ending with exit(2); _exit ends them all at once.
        expect(calls).not.toMatch(/^\d+ +exit\(/m);
        expect(calls).toMatch(new RegExp(`^\\d+ +exit_group\\(${status}\\)`, 'm'));
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    });

    it('ends quietly, with its status, when the reader of its output has gone (subhost --help | true)', () => {
      // true ends long before Node has started: the CLI's first write meets a pipe without a reader (EPIPE).
      const r = spawnSync('bash', ['-c', '"$0" --help | true; echo "${PIPESTATUS[0]}"', BIN], { encoding: 'utf8' });
      expect(r).toMatchObject({ status: 0, stdout: '0\n', stderr: '' });
    });

    it('has written all of its output first, to a pipe its reader empties late', () => {
      const root = mkdtempSync(join(tmpdir(), 'subhost-exit-'));
      try {
        // 4 MiB of console log: far more than a pipe holds, so most of it is written while the reader sleeps.
        const logs = join(root, 'run', '.logs');
        mkdirSync(logs, { recursive: true });
        const text = Buffer.alloc(4 << 20, 'console line\n');
        writeFileSync(join(logs, 'late.log'), text);
        const r = spawnSync('sh', ['-c', `"$0" logs late | { sleep 0.5; wc -c; }`, BIN], { encoding: 'utf8', env: own(root) });
        expect(r.status, r.stderr).toBe(0);
        expect(Number(r.stdout.trim())).toBe(text.length);
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    });
  });
});
