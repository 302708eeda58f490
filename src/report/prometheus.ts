import { SubhostError, UsageError } from '../errors';
import { getJson, type JsonAnswer } from './http-json';
import type { History, HistoryQuery, HistorySource } from './build';
import type { Kind, Sample, Series } from './types';

/** One sample field per query: the daemons' /metrics names, as `usage --prometheus` prints them. */
const QUERIES: { field: keyof Omit<Sample, 't'>; metric: string; match?: string }[] = [
  { field: 'cpuUser', metric: 'subhost_cpu_seconds_total', match: 'mode="user"' },
  { field: 'cpuSystem', metric: 'subhost_cpu_seconds_total', match: 'mode="system"' },
  { field: 'ioRead', metric: 'subhost_io_bytes_total', match: 'op="read"' },
  { field: 'ioWrite', metric: 'subhost_io_bytes_total', match: 'op="write"' },
  { field: 'memCurrent', metric: 'subhost_memory_current_bytes' },
  { field: 'memPeak', metric: 'subhost_memory_peak_bytes' },
];

/** query_range answers at most 11,000 points per series. */
const MAX_POINTS = 10_000;

interface Matrix {
  metric: Record<string, string>;
  values: [number, string][];
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\\\$&');

/**
 * The same history from a Prometheus server that scrapes the hosts' daemons: `query_range` at the
 * scrape interval gives each scraped value (a counter's exact value, only its time rounded to the
 * step); a host that was down has stale series, so no values, so a gap — as locally.
 */
export class PrometheusSource implements HistorySource {
  private readonly base: URL;
  private step = 0;

  constructor(url: string) {
    try {
      this.base = new URL(url.endsWith('/') ? url : `${url}/`);
    } catch {
      throw new UsageError(`report: --prometheus ${JSON.stringify(url)}: not a URL`);
    }
    if (this.base.protocol !== 'http:' && this.base.protocol !== 'https:') throw new UsageError(`report: --prometheus ${JSON.stringify(url)}: not an http or https URL`);
  }

  private async get<T>(path: string, params: Record<string, string>): Promise<T> {
    const u = new URL(path, this.base);
    for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
    let res: JsonAnswer;
    try {
      res = await getJson(u, 60_000);
    } catch (err) {
      if (err instanceof SubhostError) throw err.withContext('report');
      const e = err as NodeJS.ErrnoException;
      throw new SubhostError(`report: prometheus ${this.base.href}: ${e.code === 'ABORT_ERR' ? 'no answer within 60 s' : (e.code ?? e.message)}`);
    }
    const body = res.body as { status?: string; data?: T; error?: string } | null;
    if (res.status < 200 || res.status > 299 || body?.status !== 'success') throw new SubhostError(`report: prometheus ${this.base.href}: ${body?.error ?? `HTTP ${res.status}`}`);
    return body.data as T;
  }

  /** The scrape interval of the targets that have subhost metrics (the shortest), else 10 s. */
  async intervalMs(): Promise<number> {
    if (this.step) return this.step;
    const data = await this.get<{ activeTargets: { scrapeInterval?: string }[] }>('api/v1/targets', { state: 'active' });
    const ms = data.activeTargets.map((t) => parseDuration(t.scrapeInterval ?? '')).filter((n) => n > 0);
    this.step = ms.length ? Math.min(...ms) : 10_000;
    return this.step;
  }

  async load(q: HistoryQuery): Promise<History> {
    const step = await this.intervalMs();
    const names = q.names.length ? `,name=~"${q.names.map(escapeRegex).join('|')}"` : '';
    const bySeries = new Map<string, { host: string; kind: Kind; name: string; at: Map<number, Sample> }>();
    // Step-aligned times: the same for every query, so one instant's values meet in one sample.
    const first = Math.ceil(q.from / step) * step;
    for (let from = first; from < q.until; from += step * MAX_POINTS) {
      const to = Math.min(q.until - 1, from + step * (MAX_POINTS - 1));
      for (const { field, metric, match } of QUERIES) {
        const query = `${metric}{${[match, 'kind=~"subhost|vm"'].filter(Boolean).join(',')}${names}}`;
        const data = await this.get<{ resultType: string; result: Matrix[] }>('api/v1/query_range', { query, start: String(from / 1000), end: String(to / 1000), step: `${step / 1000}s` });
        for (const m of data.result) {
          const { host = '', kind, name = '' } = m.metric;
          const key = `${host}\u0000${kind}\u0000${name}`;
          const s = bySeries.get(key) ?? bySeries.set(key, { host, kind: kind as Kind, name, at: new Map() }).get(key)!;
          for (const [ts, v] of m.values) {
            const t = Math.round(ts * 1000);
            const sample = s.at.get(t) ?? s.at.set(t, { t, cpuUser: null, cpuSystem: null, ioRead: null, ioWrite: null, memCurrent: null, memPeak: null }).get(t)!;
            sample[field] = Number(v);
          }
        }
      }
    }
    const series: Series[] = [...bySeries.values()].map((s) => ({ host: s.host, kind: s.kind, name: s.name, samples: [...s.at.values()].sort((a, b) => a.t - b.t) }));
    return { series };
  }
}

/** Prometheus durations as the targets API prints them: 10s, 1m, 1m30s, 500ms. */
export function parseDuration(d: string): number {
  const re = /(\d+)(ms|s|m|h|d)/g;
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3600_000, d: 86400_000 };
  let total = 0;
  let seen = 0;
  for (let m = re.exec(d); m; m = re.exec(d)) {
    total += Number(m[1]) * unit[m[2]];
    seen += m[0].length;
  }
  return seen === d.length ? total : 0;
}
