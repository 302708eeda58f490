import { describeAll } from '../core/inspect/info';
import type { Runtime } from '../core/state/runtime';
import type { UsageRecord } from '../core/usage/record';
import { UsageError } from '../errors';
import type { HistoryStore } from '../history/store';
import { parseDuration, parseTime } from '../history/time';
import { badRequest, json, RouteTable, text, type RouteRequest } from './http';
import { metricsBody, type DaemonCounters } from './metrics';

/** What a route may read: everything the daemon has (the dashboard's routes get the same). */
export interface DaemonContext {
  rt: Runtime;
  host: string;
  store: HistoryStore;
  counters: DaemonCounters;
  intervalSeconds: number;
  /** The last sample's records. */
  latest(): UsageRecord[];
}

/** Steps the history API picks from when none is asked for: the first giving at most MAX_AUTO points. */
const AUTO_STEPS = [10, 60, 300, 600, 1800, 3600, 3 * 3600, 6 * 3600, 86400, 7 * 86400];
const MAX_AUTO = 400;
const MAX_POINTS = 20_000;
const HISTORY_PARAMS = new Set(['name', 'kind', 'host', 'since', 'until', 'step']);

function time(req: RouteRequest, key: string, fallback: number, now: number): number {
  const v = req.query.get(key);
  if (v === null) return fallback;
  try {
    return parseTime(v, now, key);
  } catch (err) {
    throw badRequest((err as UsageError).message);
  }
}

/** /api/v1/history?name=&kind=&host=&since=&until=&step=: buckets from the history (README). */
export function historyQuery(ctx: DaemonContext, req: RouteRequest, now = Date.now()) {
  for (const k of req.query.keys()) if (!HISTORY_PARAMS.has(k)) throw badRequest(`${k}: no such parameter; use ${[...HISTORY_PARAMS].join(', ')}`);
  const since = time(req, 'since', now - 3600_000, now);
  const until = time(req, 'until', now, now);
  if (until <= since) throw badRequest('until: must be after since');
  const kind = req.query.get('kind');
  if (kind !== null && kind !== 'subhost' && kind !== 'vm') throw badRequest(`kind: ${JSON.stringify(kind)} is neither subhost nor vm`);
  let step: number;
  const s = req.query.get('step');
  if (s !== null) {
    const parsed = /^\d+$/.test(s) ? Number(s) : parseDuration(s);
    if (!parsed) throw badRequest(`step: ${JSON.stringify(s)} is not a step; use seconds (60) or 10s, 5m, 1h, 1d`);
    step = parsed;
  } else step = AUTO_STEPS.find((x) => (until - since) / 1000 / x <= MAX_AUTO) ?? AUTO_STEPS[AUTO_STEPS.length - 1];
  if ((until - since) / 1000 / step > MAX_POINTS) throw badRequest(`step: ${step} s gives more than ${MAX_POINTS} points from since to until; use a longer step`);
  const series = ctx.store.query({ name: req.query.get('name') ?? undefined, kind: (kind ?? undefined) as 'subhost' | 'vm' | undefined, host: req.query.get('host') ?? undefined, sinceMs: since, untilMs: until, stepSeconds: step });
  return {
    since: new Date(since).toISOString(),
    until: new Date(until).toISOString(),
    stepSeconds: step,
    series: series.map((x) => ({
      host: x.host,
      kind: x.kind,
      name: x.name,
      source: x.source,
      points: x.points.map((p) => ({ time: new Date(p.start * 1000).toISOString(), ...p })),
    })),
  };
}

/** The read-only routes of SPEC §4.1; the dashboard adds its own to the same table. */
export function buildRoutes(ctx: DaemonContext): RouteTable {
  const routes = new RouteTable();
  routes.add('/metrics', () => text(metricsBody(ctx.latest(), { host: ctx.host, counters: ctx.counters }), 'text/plain; version=0.0.4; charset=utf-8'));
  routes.add('/api/v1/subhosts', async () => {
    const latest = ctx.latest();
    const usage = (kind: string, name: string) => latest.find((r) => r.kind === kind && r.name === name);
    const subhosts = (await describeAll(ctx.rt)).map((i) => ({ ...i, usage: usage('subhost', i.name) ?? null }));
    const vms = latest.filter((r) => r.kind === 'vm').map((r) => ({ name: r.name, cgroup: r.cgroup, usage: r }));
    return json({ host: ctx.host, sampledAt: ctx.counters.lastSampleTime ? new Date(ctx.counters.lastSampleTime * 1000).toISOString() : null, intervalSeconds: ctx.intervalSeconds, subhosts, vms });
  });
  routes.add('/api/v1/history', (req) => json(historyQuery(ctx, req)));
  return routes;
}
