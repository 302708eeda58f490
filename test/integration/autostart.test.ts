import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bootstrapOk } from '../helpers/bootstrap';
import { cli } from '../helpers/cli';
import { makeTestRoot, removeTestRoot, testName } from '../helpers/env';
import { leftoversOf } from '../helpers/leaks';
import { statusOf } from '../helpers/subhost';

describe('subhost autostart (what subhost-autostart.service runs)', () => {
  const root = makeTestRoot();
  const names = [testName('a'), testName('a'), testName('a')];
  afterAll(() => {
    for (const n of names) cli(['stop', n], { root });
    removeTestRoot(root);
  });

  it('boots the AUTOSTART=yes subhosts in parallel; one that fails is named and does not stop the others', () => {
    for (const n of names) {
      bootstrapOk(root, [n, '--from', 'busybox', '--dir']);
      const config = join(root, n, 'config');
      writeFileSync(config, readFileSync(config, 'utf8').replace('AUTOSTART=no', 'AUTOSTART=yes'));
    }
    // The first cannot boot: its bridge does not exist.
    writeFileSync(join(root, names[0], 'config'), `${readFileSync(join(root, names[0], 'config'), 'utf8')}BRIDGES=( ${names[0]}nobr )\n`);
    const r = cli(['autostart', '--parallel', '3'], { root });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^subhost: ${names[0]}: BRIDGES\\[0\\].*does not exist\\n$`));
    expect(r.stdout.split('\n').sort()).toEqual(['', `${names[1]}: booted`, `${names[2]}: booted`]);
    expect(names.map((n) => statusOf(root, n).state)).toEqual(['stopped', 'running', 'running']);
    for (const n of names.slice(1)) cli(['poweroff', n], { root });
    expect(leftoversOf(...names)).toEqual([]);
  });
});
