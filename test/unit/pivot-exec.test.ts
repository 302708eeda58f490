import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pivotSyscalls } from '../../src/core/guest/pivot';

const SCRIPT = join(__dirname, '../../share/pivot-exec.pl');

describe('share/pivot-exec.pl', () => {
  it('gets pivot_root, umount2, mount, mknodat, sethostname, setns, prctl, capget and capset numbers for each architecture', () => {
    expect(pivotSyscalls('x64')).toBe('155 166 165 259 170 308 157 125 126');
    expect(pivotSyscalls('arm64')).toBe('41 39 40 33 161 268 167 90 91');
    expect(pivotSyscalls('riscv64')).toBe('41 39 40 33 161 268 167 90 91');
    expect(() => pivotSyscalls('ia32')).toThrow(/not supported/);
  });

  it('compiles, and loads nothing but strict.pm: the host perl library is out of reach after the pivot', () => {
    const r = spawnSync('perl', ['-c', SCRIPT], { encoding: 'utf8' });
    expect(r.stderr).toContain('syntax OK');
    const code = readFileSync(SCRIPT, 'utf8').split('\n').filter((l) => !/^\s*#/.test(l)).join('\n');
    expect(code.match(/^\s*(use|require|no)\s+[\w:]+/gm)).toEqual(['use strict']);
    // %! and $!{...} would load Errno at run time.
    expect(code).not.toMatch(/%!|\$!\{/);
    // What compiling it loads (%INC, at CHECK time of `perl -c`), without running it.
    const inc = spawnSync('perl', ['-c', '-'], { input: `CHECK { print join(",", sort keys %INC) }\n${readFileSync(SCRIPT, 'utf8')}`, encoding: 'utf8' });
    expect(inc.stderr).toBe('- syntax OK\n');
    expect(inc.stdout).toBe('strict.pm');
  });
});
