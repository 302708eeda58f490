import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDeclarations } from '../../src/core/config/declare-parse';

// declare-p.txt is what bash 5.2 printed for declare-p.source (captured, not written by hand).
const captured = readFileSync(join(__dirname, 'fixtures/declare-p.txt'), 'utf8');

describe('parseDeclarations', () => {
  const decls = Object.fromEntries(parseDeclarations(captured).map((d) => [d.name, d]));

  it('reads indexed arrays with quoting bash escapes', () => {
    expect(decls.DISKS.value).toEqual({ kind: 'array', values: ['vda:1:/disks/a b.raw', 'vdb:1:/x"y$z`w\\q'] });
  });

  it("reads $'...' strings with control characters", () => {
    expect(decls.BRIDGES.value).toEqual({ kind: 'array', values: ['br0:02:00:00:00:00:01\nx'] });
    expect(decls.NL.value).toEqual({ kind: 'scalar', value: 'a\nb' });
    expect(decls.TAB.value).toEqual({ kind: 'scalar', value: 'a\tb' });
  });

  it('reads scalars, integers, empty values and associative arrays', () => {
    expect(decls.HOSTNAME.value).toEqual({ kind: 'scalar', value: 'my host' });
    expect(decls.CPUS.value).toEqual({ kind: 'scalar', value: '1.5' });
    expect(decls.PIDS).toMatchObject({ flags: 'i', value: { kind: 'scalar', value: '512' } });
    expect(decls.EMPTY.value).toEqual({ kind: 'array', values: [] });
    expect(decls.E2.value).toEqual({ kind: 'scalar', value: '' });
    expect(decls.ASSOC.value).toEqual({ kind: 'assoc', entries: { a: '1' } });
  });

  it('orders sparse arrays by index and keeps declared-but-unset variables without a value', () => {
    const d = parseDeclarations('declare -a X=([3]="c" [1]="a")\ndeclare -- Y\n');
    expect(d[0].value).toEqual({ kind: 'array', values: ['a', 'c'] });
    expect(d[1]).toEqual({ name: 'Y', flags: '' });
  });

  it('decodes octal, hex and unicode escapes as UTF-8', () => {
    const d = parseDeclarations(`declare -- Z=$'\\303\\251\\x41\\u00e9\\'q'\n`);
    expect(d[0].value).toEqual({ kind: 'scalar', value: "éAé'q" });
  });

  it('rejects output it does not understand', () => {
    expect(() => parseDeclarations('export X=1\n')).toThrow(/expected "declare "/);
    expect(() => parseDeclarations('declare -- X="open\n')).toThrow(/unterminated/);
  });
});
