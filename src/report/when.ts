import { UsageError } from '../errors';
import { fromWall, PERIODS, type PeriodKind } from './calendar';

const UNIT_MS: Record<string, number> = { m: 60_000, h: 3600_000, d: 86400_000, w: 7 * 86400_000 };

/**
 * --since/--until: `30m`, `12h`, `7d`, `4w` before now, or an ISO 8601 date or time. A date or a
 * time without an offset is wall-clock time in tz (the report's zone), as the periods are.
 */
export function parseWhen(option: string, value: string, now: number, tz: string): number {
  const rel = /^(\d+)([mhdw])$/.exec(value);
  if (rel) return now - Number(rel[1]) * UNIT_MS[rel[2]];
  const local = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?$/.exec(value);
  if (local) {
    const [y, mo, d, h, mi, s] = local.slice(1).map((x) => (x === undefined ? 0 : Number(x)));
    if (validWall(y, mo, d, h, mi, s)) return fromWall(y, mo, d, h, mi, tz) + s * 1000;
  } else if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value)) {
    const t = Date.parse(value);
    if (!Number.isNaN(t)) return t;
  }
  throw new UsageError(`report: ${option} ${JSON.stringify(value)}: expected 30m, 12h, 7d, 4w (ago) or an ISO 8601 date or time (2026-12-01, 2026-12-01T08:00)`);
}

function validWall(y: number, mo: number, d: number, h: number, mi: number, s: number): boolean {
  const t = new Date(Date.UTC(y, mo - 1, d));
  return t.getUTCMonth() === mo - 1 && t.getUTCDate() === d && h < 24 && mi < 60 && s < 60;
}

export const FORMATS = ['table', 'csv', 'json'] as const;
export type ReportFormat = (typeof FORMATS)[number];

export function parseBy(value: string): PeriodKind {
  if ((PERIODS as readonly string[]).includes(value)) return value as PeriodKind;
  throw new UsageError(`report: --by ${JSON.stringify(value)}: expected one of ${PERIODS.join(', ')}`);
}

export function parseFormat(value: string): ReportFormat {
  if ((FORMATS as readonly string[]).includes(value)) return value as ReportFormat;
  throw new UsageError(`report: --format ${JSON.stringify(value)}: expected one of ${FORMATS.join(', ')}`);
}

/** The report's range: since defaults to 7 days ago, until to now (never later: the future is not covered). */
export function parseRange(opts: { since?: string; until?: string }, now: number, tz: string): { since: number; until: number } {
  const since = opts.since === undefined ? now - 7 * UNIT_MS.d : parseWhen('--since', opts.since, now, tz);
  const until = opts.until === undefined ? now : Math.min(now, parseWhen('--until', opts.until, now, tz));
  if (since >= until) throw new UsageError(`report: --since must be before --until${opts.until === undefined ? ' (now)' : ''}`);
  return { since, until };
}
