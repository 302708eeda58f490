/**
 * Report periods (hour, day, week, month) in a time zone: boundaries are local wall-clock times,
 * so a day across a DST change lasts 23 or 25 hours and an hour is never split or doubled.
 */
export const PERIODS = ['hour', 'day', 'week', 'month'] as const;
export type PeriodKind = (typeof PERIODS)[number];

export interface Period {
  /** Epoch milliseconds, inclusive. */
  start: number;
  /** Epoch milliseconds, exclusive. */
  end: number;
  /** What a table shows: 2026-12-01 08:00, 2026-12-01, 2026-W49, 2026-12. */
  label: string;
}

interface Wall {
  year: number;
  month: number; // 1-12
  day: number;
  hour: number;
  minute: number;
  second: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    formatters.set(tz, f);
  }
  return f;
}

/** The wall-clock time in tz at epoch ms t (seconds resolution). */
export function wallTime(t: number, tz: string): Wall {
  const w: Record<string, number> = {};
  for (const p of formatter(tz).formatToParts(new Date(t))) if (p.type !== 'literal') w[p.type] = Number(p.value);
  return { year: w.year, month: w.month, day: w.day, hour: w.hour, minute: w.minute, second: w.second };
}

/** Milliseconds tz is ahead of UTC at t. */
export function offsetAt(t: number, tz: string): number {
  const w = wallTime(t, tz);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return asUtc - (t - (((t % 1000) + 1000) % 1000));
}

/** The instant a wall-clock time happens in tz: the first of two (DST fall-back), the moment after the jump for a skipped one. */
export function fromWall(year: number, month: number, day: number, hour: number, minute: number, tz: string): number {
  const asUtc = Date.UTC(year, month - 1, day, hour, minute);
  const before = asUtc - offsetAt(asUtc - 86400_000, tz);
  const after = asUtc - offsetAt(asUtc + 86400_000, tz);
  const reads = (t: number) => {
    const w = wallTime(t, tz);
    return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute) === asUtc;
  };
  const ok = [before, after].filter(reads).sort((a, b) => a - b);
  return ok.length ? ok[0] : before;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** ISO week number and its year (weeks start on Monday; week 1 holds the year's first Thursday). */
function isoWeek(year: number, month: number, day: number): { year: number; week: number } {
  const d = new Date(Date.UTC(year, month - 1, day));
  d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7) + 3); // the Thursday of its week
  const dayOfYear = (d.getTime() - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86400_000;
  return { year: d.getUTCFullYear(), week: Math.floor(dayOfYear / 7) + 1 };
}

/** The period of kind `by` that holds t. */
export function periodOf(t: number, by: PeriodKind, tz: string): Period {
  const w = wallTime(t, tz);
  if (by === 'hour') {
    // Local hours: minutes and seconds past the wall-clock hour (also right in :30 and :45 zones).
    const start = t - (w.minute * 60 + w.second) * 1000 - (((t % 1000) + 1000) % 1000);
    return { start, end: start + 3600_000, label: `${w.year}-${pad(w.month)}-${pad(w.day)} ${pad(w.hour)}:00` };
  }
  if (by === 'day') {
    const start = fromWall(w.year, w.month, w.day, 0, 0, tz);
    const next = new Date(Date.UTC(w.year, w.month - 1, w.day + 1));
    const end = fromWall(next.getUTCFullYear(), next.getUTCMonth() + 1, next.getUTCDate(), 0, 0, tz);
    return { start, end, label: `${w.year}-${pad(w.month)}-${pad(w.day)}` };
  }
  if (by === 'week') {
    const dow = (new Date(Date.UTC(w.year, w.month - 1, w.day)).getUTCDay() + 6) % 7;
    const monday = new Date(Date.UTC(w.year, w.month - 1, w.day - dow));
    const nextMonday = new Date(Date.UTC(w.year, w.month - 1, w.day - dow + 7));
    const start = fromWall(monday.getUTCFullYear(), monday.getUTCMonth() + 1, monday.getUTCDate(), 0, 0, tz);
    const end = fromWall(nextMonday.getUTCFullYear(), nextMonday.getUTCMonth() + 1, nextMonday.getUTCDate(), 0, 0, tz);
    const iw = isoWeek(monday.getUTCFullYear(), monday.getUTCMonth() + 1, monday.getUTCDate());
    return { start, end, label: `${iw.year}-W${pad(iw.week)}` };
  }
  const start = fromWall(w.year, w.month, 1, 0, 0, tz);
  const ny = w.month === 12 ? w.year + 1 : w.year;
  const nm = w.month === 12 ? 1 : w.month + 1;
  return { start, end: fromWall(ny, nm, 1, 0, 0, tz), label: `${w.year}-${pad(w.month)}` };
}

/** Every period of kind `by` that overlaps [from, to), in order. */
export function periodsBetween(from: number, to: number, by: PeriodKind, tz: string): Period[] {
  const out: Period[] = [];
  let t = from;
  while (t < to) {
    const p = periodOf(t, by, tz);
    out.push(p);
    t = p.end;
  }
  return out;
}

const isoCache = new Map<string, Map<number, string>>();

/** An instant as ISO 8601 with tz's offset (2026-12-01T08:00:00+01:00), for JSON and CSV. */
export function isoWithOffset(t: number, tz: string): string {
  // Every line of a period prints the same two instants: Intl once per instant, not per line.
  const cache = isoCache.get(tz) ?? isoCache.set(tz, new Map()).get(tz)!;
  let s = cache.get(t);
  if (s === undefined) {
    if (cache.size >= 100_000) cache.clear();
    cache.set(t, (s = formatIso(t, tz)));
  }
  return s;
}

function formatIso(t: number, tz: string): string {
  const w = wallTime(t, tz);
  const off = Math.round(offsetAt(t, tz) / 60000);
  const sign = off < 0 ? '-' : '+';
  const a = Math.abs(off);
  const zone = off === 0 && tz === 'UTC' ? 'Z' : `${sign}${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
  return `${w.year}-${pad(w.month)}-${pad(w.day)}T${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)}${zone}`;
}

/** The host's own zone (TZ, else /etc/localtime), as Intl resolves it. */
export function localZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}
