import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCgroupMounts } from '../../src/host/cgroupfs';
import { PREFIX } from '../helpers/env';

const BENCH = join(__dirname, '../../dist/bench.cjs');
// The bench's names (and its own leak scan): the tests' prefix and a letter no test name starts
// with after it, so that it neither sees the suite's objects (the Ganeti cluster, PREFIXg) nor they it.
const BENCH_PREFIX = `${PREFIX}z`;
const cgroupMounts = () => readCgroupMounts().map((m) => `${m.fsType} ${m.mountPoint}`).sort();
const bench = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  spawnSync(process.execPath, [BENCH, ...args], { encoding: 'utf8', env: { ...process.env, SUBHOST_BENCH_PREFIX: BENCH_PREFIX, ...env } });

// Production hosts are pure cgroup v2 (SPEC §7); a development host may be hybrid, where boot also
// joins the v1 hierarchies. --v2-view measures there what a pure v2 host would give.
describe('npm run bench -- --v2-view', () => {
  it("runs subhost in a pure cgroup v2 view on a hybrid host (the bench's own mount namespace), as on a pure v2 host, and the host keeps its hierarchies", () => {
    const before = cgroupMounts();
    const hybrid = before.some((m) => m.startsWith('cgroup '));
    console.log(`this host: ${hybrid ? 'hybrid, so the bench runs again in a view of its own' : 'pure cgroup v2, so the bench runs as it is'}`);
    const r = bench(['--v2-view', '--only', 'version', '--runs', '1']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(hybrid ? `, a pure cgroup v2 view of this hybrid host (--v2-view: ${before.filter((m) => m.startsWith('cgroup ')).length} v1 hierarchies unmounted` : ', pure cgroup v2, ');
    expect(r.stdout).toMatch(/`subhost --version` +\d/);
    expect(cgroupMounts()).toEqual(before);
  });

  it("refuses --with-peers, and the view's variable in the host's own mount namespace, in one line, before it makes anything", () => {
    const before = cgroupMounts();
    expect(bench(['--v2-view', '--with-peers'])).toMatchObject({ status: 1, stdout: '', stderr: 'bench: --v2-view measures subhost only: leave out --with-peers\n' });
    const inHost = bench(['--only', 'version', '--runs', '1'], { SUBHOST_BENCH_V2_VIEW: '1' });
    expect(inHost).toMatchObject({ status: 1, stdout: '', stderr: "bench: SUBHOST_BENCH_V2_VIEW is set, but this is the host's mount namespace\n" });
    expect(cgroupMounts()).toEqual(before);
  });
});
