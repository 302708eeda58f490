import { spawn } from 'node:child_process';
import { chmodSync, closeSync, copyFileSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capabilitiesInMask, DROPPED_CAPABILITIES } from '../../src/core/guest/capabilities';
import { BIN, cli, type CliResult } from '../helpers/cli';
import { makeTestRoot, removeTestRoot, testName } from '../helpers/env';
import { createDiskSubhost, type DiskSubhost } from '../helpers/fixtures';
import { sharedLibraries } from '../helpers/guest';
import { statusOf } from '../helpers/subhost';

// Issue 13, classes 2 and 5: a guest process must not get at the operator's terminal or
// descriptors through `subhost enter`, nor hold a capability the caller had in its inheritable
// or ambient set, nor dac_read_search (open_by_handle_at).

const HELD = ['sys_module', 'sys_time', 'dac_read_search'];
const PERL = '/usr/bin/perl';
/** Pushes a command line into the input of the terminal on its stdin (TIOCSTI, 0x5412). */
const INJECT = `#!/bin/sh\nexec ${PERL} -e 'for (split //, "echo INJECTED\\n") { ioctl(STDIN, 0x5412, $_) or die "TIOCSTI: $!\\n" }'\n`;

/** The host's perl (Essential on Debian; it needs no module for ioctl) in the guest, for TIOCSTI. */
function perlInGuest(tree: string): void {
  for (const f of [PERL, ...sharedLibraries(PERL)]) {
    mkdirSync(join(tree, dirname(f)), { recursive: true });
    copyFileSync(f, join(tree, f));
    chmodSync(join(tree, f), 0o755);
  }
}

/** Capability sets of a /proc/PID/status text, by name. */
function capSets(status: string): Record<string, string[]> {
  const sets: Record<string, string[]> = {};
  for (const k of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb']) sets[k] = capabilitiesInMask(new RegExp(`^${k}:\\s*([0-9a-f]+)$`, 'm').exec(status)![1]);
  return sets;
}

/** The CLI run with these capabilities in its inheritable and ambient sets, as a caller may have them. */
function cliHolding(args: string[], root: string): CliResult {
  const caps = HELD.map((c) => `+${c}`).join(',');
  return cli(args, { root, via: ['setpriv', `--inh-caps=${caps}`, `--ambient-caps=${caps}`, '--'] });
}

function expectNoneHeld(sets: Record<string, string[]>): void {
  expect(sets.CapInh).toEqual([]);
  expect(sets.CapAmb).toEqual([]);
  for (const c of DROPPED_CAPABILITIES) {
    expect(sets.CapBnd).not.toContain(c.cap);
    expect(sets.CapPrm).not.toContain(c.cap);
    expect(sets.CapEff).not.toContain(c.cap);
  }
}

describe('a hostile guest and subhost enter', () => {
  const root = makeTestRoot();
  let sub: DiskSubhost;
  beforeAll(async () => {
    sub = await createDiskSubhost(root, testName('e'), { dataDisk: false, files: { 'root/inject': { mode: 0o755, content: INJECT } }, prepare: perlInGuest });
    const r = cliHolding(['boot', sub.name], root);
    expect(r.code, r.stderr).toBe(0);
  });
  afterAll(() => {
    if (sub) cli(['stop', sub.name], { root });
    removeTestRoot(root);
  });

  it('class 5: PID 1 and an entered command hold no inheritable or ambient capability, and none of the dropped ones', () => {
    expectNoneHeld(capSets(readFileSync(`/proc/${statusOf(root, sub.name).pid1}/status`, 'utf8')));
    const inside = cliHolding(['enter', sub.name, '--', 'cat', '/proc/self/status'], root);
    expect(inside.code, inside.stderr).toBe(0);
    expectNoneHeld(capSets(inside.stdout));
  });

  it('class 2: a descriptor the caller left open (a host directory) is not visible inside', () => {
    const dir = openSync(root, 'r');
    try {
      const r = cli(['enter', sub.name, '--', '/bin/sh', '-c', 'ls /proc/$$/fd; if ls /proc/$$/fd/3/ >/dev/null 2>&1; then echo host-dir-open; fi'], { root, fds: [dir] });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe('0\n1\n2\n');
    } finally {
      closeSync(dir);
    }
  });

  it("class 2: TIOCSTI inside cannot push input into the operator's terminal", async () => {
    // After enter, the operator's shell reads what is waiting on its terminal.
    const out = await onTerminal(root, `${process.execPath} ${BIN} enter ${sub.name} -- /root/inject\necho "enter:$?"\nread -t 3 line\necho "after:[$line]"\n`);
    expect(out).toContain('enter:0');
    expect(out).toContain('after:[]');
    expect(out).not.toContain('after:[echo INJECTED]');
  }, 90_000);

  it("class 2: from a pipe on the operator's terminal, the command has no controlling terminal", async () => {
    // A failed redirection ends the shell that tries it: try it in a subshell.
    const probe = `'if (: </dev/tty) 2>/dev/null; then echo has-tty; else echo no-tty; fi'`;
    const out = await onTerminal(root, `echo | ${process.execPath} ${BIN} enter ${sub.name} -- /bin/sh -c ${probe}; echo "enter:$?"\n`);
    expect(out, out).toContain('no-tty');
    expect(out).not.toContain('has-tty');
  }, 90_000);
});

/** Run a bash script on a terminal of its own (a pty of script(1)), as an operator would; its output. */
function onTerminal(root: string, text: string): Promise<string> {
  const file = join(root, `operator-${Date.now()}.sh`);
  writeFileSync(file, text);
  return new Promise<string>((resolve) => {
    const child = spawn('script', ['--quiet', '--return', '--command', `bash ${file}`, '/dev/null'], { env: { ...process.env, SUBHOST_ROOT: root }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b) => (out += b));
    child.stderr.on('data', (b) => (out += b));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', () => {
      clearTimeout(timer);
      child.stdin.destroy();
      resolve(out.replace(/\r/g, ''));
    });
  });
}
