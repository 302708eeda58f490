import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatPrometheus } from '../../src/core/usage/metrics';
import type { UsageRecord } from '../../src/core/usage/record';
import { cliAsync } from '../helpers/cli';
import { makeTestRoot, PREFIX, removeTestRoot, sleep, waitFor } from '../helpers/env';
import { freePort, instant, startPrometheus, type TestPrometheus } from '../helpers/prometheus';
import { usageRecord } from '../helpers/usage-record';

/**
 * `report --prometheus` against a real Prometheus scraping two hosts. Each host here is a small
 * /metrics server with the daemon's metric table (formatPrometheus) and counters that grow at a
 * known rate; host B's subhost restarts half-way (its counters start again from 0).
 */
const started = Date.now();
const rate = { a: 0.5, b: 0.25 };
let restartB = Infinity;

const record = (host: string, name: string, cpu: number, mem: number): UsageRecord =>
  usageRecord({ host, name, cgroup: '', time: Date.now(), user: cpu, system: cpu / 10, memory: mem, peak: mem, read: Math.round(cpu * 4096), write: Math.round(cpu * 512), tasks: 2 });

function host(records: () => UsageRecord[]): Promise<{ server: Server; target: string }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(formatPrometheus(records()));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, target: `127.0.0.1:${(server.address() as { port: number }).port}` })));
}

const hostA = `${PREFIX}-node-a`;
const hostB = `${PREFIX}-node-b`;
let root: string;
let prom: TestPrometheus;
const servers: Server[] = [];

beforeAll(async () => {
  root = makeTestRoot();
  const a = await host(() => [record(hostA, 'web', ((Date.now() - started) / 1000) * rate.a, 10 * 2 ** 20)]);
  const b = await host(() => {
    const s = (Date.now() - started) / 1000;
    return [record(hostB, 'db', s < restartB ? 1000 + s * rate.b : (s - restartB) * rate.b, 30 * 2 ** 20)];
  });
  servers.push(a.server, b.server);
  prom = await startPrometheus(root, [a.target, b.target]);
  await waitFor('10 scrapes of both hosts', async () => {
    const r = await instant(prom.url, 'count_over_time(subhost_cpu_seconds_total{mode="user"}[1m])');
    return r.length === 2 && r.every((x) => Number(x.value[1]) >= 10);
  }, 60_000, 500);
  restartB = (Date.now() - started) / 1000;
  await sleep(6000);
}, 120_000);

afterAll(async () => {
  await prom?.stop();
  for (const s of servers) s.close();
  if (root) removeTestRoot(root);
});

describe('subhost report --prometheus', () => {
  it('has rows for both hosts, a total for each and for all, from exact counter deltas', async () => {
    const r = await cliAsync(['report', '--prometheus', prom.url, '--since', '10m', '--by', 'month', '--format', 'json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    // The range may cross a month boundary: sum the periods.
    const rows = j.periods.flatMap((p: { rows: unknown[] }) => p.rows) as { host: string; name: string; cpuUserSeconds: number; runningSeconds: number; restarts: number; memoryAverageBytes: number }[];
    const web = rows.filter((x) => x.host === hostA);
    const db = rows.filter((x) => x.host === hostB);
    expect(web.map((x) => x.name)).toContain('web');
    expect(db.map((x) => x.name)).toContain('db');
    const sum = (xs: typeof rows, k: 'cpuUserSeconds' | 'runningSeconds' | 'restarts') => xs.reduce((s, x) => s + x[k], 0);
    // CPU grew at rate × time between the first and last scrape; no extrapolation past them.
    expect(sum(web, 'cpuUserSeconds') / sum(web, 'runningSeconds')).toBeCloseTo(rate.a, 1);
    expect(sum(web, 'runningSeconds')).toBeLessThanOrEqual((Date.now() - started) / 1000);
    // B restarted: a new run, not a negative 1000 s.
    expect(sum(db, 'restarts')).toBe(1);
    expect(sum(db, 'cpuUserSeconds')).toBeGreaterThan(0);
    expect(sum(db, 'cpuUserSeconds') / sum(db, 'runningSeconds')).toBeCloseTo(rate.b, 1);
    expect(web[0].memoryAverageBytes).toBe(10 * 2 ** 20);
    for (const p of j.periods) {
      const hosts = p.hosts as { host: string; cpuUserSeconds: number; ioReadBytes: number }[];
      expect(hosts.map((h) => h.host).sort()).toEqual([hostA, hostB]);
      expect(p.total.cpuUserSeconds).toBeCloseTo(hosts[0].cpuUserSeconds + hosts[1].cpuUserSeconds, 5);
      expect(p.total.ioReadBytes).toBe(hosts[0].ioReadBytes + hosts[1].ioReadBytes);
    }
  });

  it('the table has a line per host and one for all hosts; only the names asked for', async () => {
    const r = await cliAsync(['report', '--prometheus', prom.url, '--since', '1h', '--by', 'hour', 'web']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.some((l) => l.includes(hostA) && / web /.test(l))).toBe(true);
    expect(lines.some((l) => / db /.test(l))).toBe(false);
  });

  it('an unreachable server is a failure in one line (exit 1)', async () => {
    const port = await freePort();
    const r = await cliAsync(['report', '--prometheus', `http://127.0.0.1:${port}`, '--since', '1h']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`subhost: report: prometheus http://127.0.0.1:${port}/: ECONNREFUSED\n`);
  });
});
