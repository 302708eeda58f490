import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isAlive, procRef } from '../../src/host/proc';
import { cli, ok } from '../helpers/cli';
import { makeTestRoot, removeTestRoot } from '../helpers/env';
import { useBootedSubhost } from '../helpers/booted';
import { withConfig } from '../helpers/refused';

const RUN = '/run/subhost';

// Issue 12, class 3: a release touches only what the kernel shows is NAME's; a lost record is `failed`.
describe('releases decided by what the kernel shows, not by a config or a record alone', () => {
  const y = useBootedSubhost('o', { subhost: () => ({ dataDisk: false }) });
  const other = makeTestRoot();
  afterAll(() => removeTestRoot(other));
  const loopOfY = () => String(y.status().disks[0].device).replace(/^(\/dev\/loop\d+)p\d+$/, '$1');
  const stillRuns = () => {
    expect(y.status().state).toBe('running');
    expect(y.sh('echo alive').stdout).toBe('alive\n');
    expect(readFileSync(`/sys/block/${basename(loopOfY())}/loop/autoclear`, 'utf8').trim()).toBe('0');
  };

  it("stop on a stopped X whose config names running Y's image leaves Y's loop device alone", () => {
    const x = withConfig(y.root, `DISKS=( vda:1:${y.sub().disk1} )\n`);
    const r = cli(['stop', x], { root: y.root });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${x}: already stopped\n`);
    stillRuns();
  });

  it('stop under another --root refuses a subhost of that NAME booted from elsewhere', () => {
    const r = cli(['stop', y.sub().name], { root: other });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`subhost: subhost ${y.sub().name} was booted from ${y.root}, not from ${other}: use --root ${y.root}\n`);
    expect(cli(['poweroff', y.sub().name], { root: other }).code).toBe(1);
    stillRuns();
  });

  it('a truncated state.json makes a running subhost failed (never stopped), and check-mounts --fix leaves its guest alone', () => {
    const file = `${RUN}/${y.sub().name}/state.json`;
    const saved = readFileSync(file, 'utf8');
    const pid1 = procRef(y.status().pid1)!;
    try {
      writeFileSync(file, saved.slice(0, saved.length >> 1));
      const s = y.status();
      expect(s.state).toBe('failed');
      expect(s.reason).toMatch(/record is unusable: state\.json is not valid JSON/);
      const again = cli(['boot', y.sub().name], { root: y.root });
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(/is failed: its record is unusable/);
      const fix = cli(['check-mounts', '--fix'], { root: y.root });
      expect(fix.code).toBe(1);
      expect(isAlive(pid1)).toBe(true);
    } finally {
      writeFileSync(file, saved);
    }
    stillRuns();
  });

  it('a deleted runtime folder makes a running subhost failed (its cgroup is still there), not stopped', () => {
    const dir = `${RUN}/${y.sub().name}`;
    const aside = `${RUN}/.${y.sub().name}-aside`;
    renameSync(dir, aside);
    try {
      const s = y.status();
      expect(s.state).toBe('failed');
      expect(s.reason).toMatch(/no record, but its cgroup is there/);
      expect(cli(['boot', y.sub().name], { root: y.root }).code).toBe(1);
    } finally {
      renameSync(aside, dir);
    }
    stillRuns();
    ok(['stop', y.sub().name], { root: y.root });
  });
});
