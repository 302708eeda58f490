import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, cliAsync, ok } from '../helpers/cli';
import { daemonEnv, startDaemon, type TestDaemon } from '../helpers/daemon';
import { makeTestRoot, PREFIX, removeTestRoot, testName, waitFor } from '../helpers/env';
import { createDiskSubhost } from '../helpers/fixtures';
import { instant, startPrometheus, type TestPrometheus } from '../helpers/prometheus';

/** A real Prometheus scraping two real daemons (their own --hostname, run folder and database) that watch one booted subhost. */
describe('subhost report --prometheus over two daemons', () => {
  const root = makeTestRoot();
  const hosts = [`${PREFIX}-h1`, `${PREFIX}-h2`];
  const name = testName('pm');
  const daemons: TestDaemon[] = [];
  let prom: TestPrometheus;

  beforeAll(async () => {
    const run0 = join(root, 'run-0');
    mkdirSync(run0, { recursive: true });
    await createDiskSubhost(root, name, { dataDisk: false });
    ok(['boot', name], { root, env: daemonEnv({ root, run: run0 }) });
    for (const [i, h] of hosts.entries()) {
      const run = i === 0 ? run0 : join(root, `run-${i}`);
      mkdirSync(run, { recursive: true });
      daemons.push(await startDaemon({ root, run, db: join(root, `h${i}.sqlite`), interval: 1, args: ['--hostname', h] }));
    }
    prom = await startPrometheus(root, daemons.map((d) => d.listen));
    await waitFor('5 scrapes of both daemons', async () => {
      const r = await instant(prom.url, `count_over_time(subhost_cpu_seconds_total{mode="user",name="${name}"}[1m])`);
      return r.length === 2 && r.every((x) => Number(x.value[1]) >= 5);
    }, 90_000, 500);
  }, 180_000);

  afterAll(async () => {
    await prom?.stop();
    for (const d of daemons) await d.stop();
    cli(['stop', name], { root, env: daemonEnv({ root, run: join(root, 'run-0') }) });
    removeTestRoot(root);
  });

  it('has a row for each host and their sum', async () => {
    const r = await cliAsync(['report', '--prometheus', prom.url, '--since', '1h', '--by', 'month', '--format', 'json', name]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    const p = j.periods[j.periods.length - 1];
    expect(p.rows.map((x: { host: string; name: string }) => `${x.host}/${x.name}`).sort()).toEqual(hosts.map((h) => `${h}/${name}`));
    expect(p.hosts.map((x: { host: string }) => x.host).sort()).toEqual(hosts);
    for (const row of p.rows) expect(row.runningSeconds).toBeGreaterThan(0);
    expect(p.total.cpuUserSeconds).toBeCloseTo(p.hosts[0].cpuUserSeconds + p.hosts[1].cpuUserSeconds, 5);
    expect(p.total.runningSeconds).toBeCloseTo(p.hosts[0].runningSeconds + p.hosts[1].runningSeconds, 3);
  });
});
