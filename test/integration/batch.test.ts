import { closeSync, openSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, ok } from '../helpers/cli';
import { makeTestRoot, PREFIX, removeTestRoot, testName } from '../helpers/env';
import { createDiskSubhost } from '../helpers/fixtures';
import { leftoversOf } from '../helpers/leaks';
import { statusOf } from '../helpers/subhost';

describe('batches: several names in one boot or stop', () => {
  const root = makeTestRoot();
  const names: string[] = [];

  beforeAll(async () => {
    for (let i = 0; i < 3; i++) names.push((await createDiskSubhost(root, testName('m'), { dataDisk: false })).name);
  });
  afterAll(() => {
    cli(['stop', ...names], { root });
    removeTestRoot(root);
  });

  it('boots and stops them all, two at a time', () => {
    const r = ok(['boot', '--parallel', '2', ...names], { root });
    expect(r.stdout.split('\n').filter(Boolean).sort()).toEqual(names.map((n) => expect.stringMatching(new RegExp(`^${n}: booted, PID 1 is \\d+$`))).sort());
    const list = JSON.parse(ok(['list', '--json'], { root }).stdout);
    expect(list.filter((x: { state: string }) => x.state === 'running').map((x: { name: string }) => x.name).sort()).toEqual([...names].sort());
    expect(ok(['stop', '--parallel', '2', ...names], { root }).stdout.split('\n').filter(Boolean).sort()).toEqual(names.map((n) => `${n}: stopped`).sort());
    expect(leftoversOf(...names)).toEqual([]);
  });

  it('boots the others when one fails, and says which failed, one line each', () => {
    const nope = `${PREFIX}nope`;
    const r = cli(['boot', names[0], nope, names[1]], { root });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^subhost: ${nope}: no subhost ${nope}: .* does not exist and no config was given\n$`));
    expect(r.stdout).toContain(`${names[0]}: booted`);
    expect(r.stdout).toContain(`${names[1]}: booted`);
    ok(['stop', names[0], names[1]], { root });
  });

  it('refuses --config with several names', () => {
    const r = cli(['boot', '--config', '/dev/null', names[0], names[1]], { root });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('subhost: --config applies to one NAME, not a batch\n');
  });
});

describe('descriptors the caller left open', () => {
  const root = makeTestRoot();
  let name = '';
  beforeAll(async () => {
    name = (await createDiskSubhost(root, testName('f'), { dataDisk: false })).name;
  });
  afterAll(() => {
    cli(['stop', name], { root });
    removeTestRoot(root);
  });

  it('are not held by the supervisor or by PID 1', async () => {
    const marker = join(root, 'caller-left-this-open');
    writeFileSync(marker, '');
    const fd = openSync(marker, 'r');
    try {
      const r = cli(['boot', name], { root, fds: [fd] });
      expect(r.code, r.stderr).toBe(0);
    } finally {
      closeSync(fd);
    }
    const s = statusOf(root, name);
    const held = (pid: number) => readdirSync(`/proc/${pid}/fd`).map((f) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${f}`);
      } catch {
        return '';
      }
    });
    expect(held(s.supervisor).length).toBeGreaterThan(2);
    expect(held(s.supervisor)).not.toContain(marker);
    expect(held(s.pid1)).not.toContain(marker);
  });
});
