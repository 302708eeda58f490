import { UsageError } from '../errors';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 7 * 86400 };

/** "30m", "12h", "7d", "4w", "10s" -> seconds, or undefined when it is not such a duration. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+)([smhdw])$/.exec(text);
  return m ? Number(m[1]) * UNIT_SECONDS[m[2]] : undefined;
}

/**
 * A point in time as `--since`/`--until` and the history API take it: a duration ago ("7d"), or an
 * ISO 8601 date or time; without a zone it is the host's local time ("2026-12-01" is local midnight).
 */
export function parseTime(text: string, nowMs = Date.now(), what = 'since'): number {
  const ago = parseDuration(text);
  if (ago !== undefined) return nowMs - ago * 1000;
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.exec(text);
  const bad = () => new UsageError(`${what}: ${JSON.stringify(text)} is not a time; use 30m, 12h, 7d, 4w (ago) or an ISO 8601 date or time such as 2026-12-01 or 2026-12-01T08:00`);
  if (!m) throw bad();
  const [, y, mo, d, hh = '0', mi = '0', ss = '0', zone] = m;
  const ms = zone ? Date.parse(text.replace(' ', 'T')) : new Date(+y, +mo - 1, +d, +hh, +mi, +ss).getTime();
  // Date rolls 2026-02-31 over into March: a date that does not exist is refused instead.
  const check = new Date(+y, +mo - 1, +d);
  if (Number.isNaN(ms) || check.getMonth() !== +mo - 1 || check.getDate() !== +d || +hh > 23 || +mi > 59 || +ss > 59) throw bad();
  return ms;
}
