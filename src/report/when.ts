import { UsageError } from '../errors';
import { readTime } from '../history/time';
import { PERIODS, type PeriodKind } from './calendar';

/**
 * --since/--until: `30m`, `12h`, `7d`, `4w` before now, or an ISO 8601 date or time. A date or a
 * time without an offset is wall-clock time in tz (the report's zone), as the periods are. The
 * history API reads the same (history/time.ts).
 */
export function parseWhen(option: string, value: string, now: number, tz: string): number {
  const t = readTime(value, now, tz);
  if (t !== undefined) return t;
  throw new UsageError(`report: ${option} ${JSON.stringify(value)}: expected 30m, 12h, 7d, 4w (ago) or an ISO 8601 date or time (2026-12-01, 2026-12-01T08:00)`);
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
  const since = opts.since === undefined ? now - 7 * 86400_000 : parseWhen('--since', opts.since, now, tz);
  const until = opts.until === undefined ? now : Math.min(now, parseWhen('--until', opts.until, now, tz));
  if (since >= until) throw new UsageError(`report: --since must be before --until${opts.until === undefined ? ' (now)' : ''}`);
  return { since, until };
}
