import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const INIT = join(__dirname, '../../share/subhost-init');
const dir = mkdtempSync(join(tmpdir(), 'subhost-init-grace-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** subhost-init's wait between SIGTERM and SIGKILL at power off, as it is in the file. */
function graceBlock(): string {
  const text = readFileSync(INIT, 'utf8');
  const from = text.indexOf('kill -TERM -1');
  const to = text.indexOf('kill -KILL -1');
  expect(from).toBeGreaterThan(0);
  expect(to).toBeGreaterThan(from);
  return text.slice(from, to);
}

/** Runs it with a process that never ends (kill always succeeds) and a fake sleep: what it asked to sleep, in seconds. */
function sleepsAsked(grace: number, fractions: boolean): number[] {
  const log = join(dir, `sleeps-${fractions}`);
  writeFileSync(log, '');
  const bin = join(dir, `bin-${fractions}`);
  spawnSync('mkdir', ['-p', bin]);
  // Records each successful sleep; without fractions, "0.1" fails at once as such a busybox's does.
  writeFileSync(join(bin, 'sleep'), `#!/bin/sh\n${fractions ? '' : 'case $1 in *.*) exit 1 ;; esac\n'}echo "$1" >>${log}\n`, { mode: 0o755 });
  const script = `kill() { return 0; }\nreader=\ngrace=${grace}\n${graceBlock()}\n`;
  const r = spawnSync('/bin/sh', ['-c', script], { env: { PATH: `${bin}:/usr/bin:/bin` }, encoding: 'utf8', timeout: 10_000 });
  expect(r.status, r.stderr).toBe(0);
  return readFileSync(log, 'utf8').split('\n').filter(Boolean).map(Number);
}

const total = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

describe("subhost-init's power-off grace", () => {
  it('lasts its grace where sleep takes no fractions, not ten times it', () => {
    const asked = sleepsAsked(2, false);
    expect(total(asked)).toBe(2);
  });

  it('lasts about its grace with fractional sleeps, looking first after 10 ms', () => {
    const asked = sleepsAsked(1, true);
    expect(asked[0]).toBe(0.01);
    expect(total(asked)).toBeGreaterThanOrEqual(1);
    expect(total(asked)).toBeLessThanOrEqual(1.1);
  });
});
