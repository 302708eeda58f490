import { describe, expect, it } from 'vitest';
import { hostIfname } from '../../src/core/config/names';
import { nameCandidates } from '../../src/core/inspect/resources';

describe('per-subhost scans', () => {
  it("asks only the links named as boot names NAME's host ends for their alias", () => {
    const links = ['lo', 'eth0', 'br0', 'a', 'a0', 'a1', 'a12', 'ab0', 'a-1', 'a1x', 'xa0', 'a10b'];
    expect(nameCandidates(links, 'a')).toEqual(['a0', 'a1', 'a12']);
    // a12 may be a's 13th link or a1's third: the alias tells them apart.
    expect(nameCandidates(links, 'a1')).toEqual(['a12']);
    expect(nameCandidates(links, 'eth')).toEqual(['eth0']);
  });

  it('never leaves out a link boot made', () => {
    for (const name of ['a', 'web-1', 'n0', 'abcdefghijklm']) {
      const made = Array.from({ length: 12 }, (_, i) => hostIfname(name, i));
      expect(nameCandidates([...made, 'lo', `${name}x`], name)).toEqual(made);
    }
  });
});
