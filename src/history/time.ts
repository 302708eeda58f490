import { UsageError } from '../errors';
import { fromWall, localZone } from '../report/calendar';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 7 * 86400 };

/** "30m", "12h", "7d", "4w", "10s" -> seconds, or undefined when it is not such a duration. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+)([smhdw])$/.exec(text);
  return m ? Number(m[1]) * UNIT_SECONDS[m[2]] : undefined;
}

/**
 * A point in time as `report --since/--until` and the history API take it: a duration ago ("7d"),
 * or an ISO 8601 date or time; without an offset it is wall-clock time in tz ("2026-12-01" is
 * midnight there). Undefined when the text is neither, or names a date or time that does not exist.
 */
export function readTime(text: string, nowMs: number, tz: string): number | undefined {
  const ago = parseDuration(text);
  if (ago !== undefined) return nowMs - ago * 1000;
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.exec(text);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map((x) => (x === undefined ? 0 : Number(x)));
  // Date.UTC rolls 2026-02-31 over into March: a date that does not exist is refused instead.
  const day = new Date(Date.UTC(y, mo - 1, d));
  if (day.getUTCMonth() !== mo - 1 || day.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) return undefined;
  const ms = m[7] ? Date.parse(text.replace(' ', 'T')) : fromWall(y, mo, d, h, mi, tz) + s * 1000;
  return Number.isNaN(ms) ? undefined : ms;
}

/** readTime for the history API, in the host's zone; a bad time is a UsageError naming `what`. */
export function parseTime(text: string, nowMs = Date.now(), what = 'since'): number {
  const t = readTime(text, nowMs, localZone());
  if (t === undefined) throw new UsageError(`${what}: ${JSON.stringify(text)} is not a time; use 30m, 12h, 7d, 4w (ago) or an ISO 8601 date or time such as 2026-12-01 or 2026-12-01T08:00`);
  return t;
}
