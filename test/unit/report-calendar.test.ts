import { describe, expect, it } from 'vitest';
import { fromWall, isoWithOffset, periodOf, periodsBetween } from '../../src/report/calendar';

const H = 3600_000;
const iso = (s: string) => Date.parse(s);

describe('periods in UTC', () => {
  it('hour, day, week (ISO, from Monday) and month hold the instant', () => {
    const t = iso('2026-12-02T08:30:15.250Z'); // a Wednesday
    expect(periodOf(t, 'hour', 'UTC')).toEqual({ start: iso('2026-12-02T08:00:00Z'), end: iso('2026-12-02T09:00:00Z'), label: '2026-12-02 08:00' });
    expect(periodOf(t, 'day', 'UTC')).toEqual({ start: iso('2026-12-02T00:00:00Z'), end: iso('2026-12-03T00:00:00Z'), label: '2026-12-02' });
    expect(periodOf(t, 'week', 'UTC')).toEqual({ start: iso('2026-11-30T00:00:00Z'), end: iso('2026-12-07T00:00:00Z'), label: '2026-W49' });
    expect(periodOf(t, 'month', 'UTC')).toEqual({ start: iso('2026-12-01T00:00:00Z'), end: iso('2027-01-01T00:00:00Z'), label: '2026-12' });
  });

  it('ISO weeks across a new year: 2027-01-01 (a Friday) is in 2026-W53', () => {
    expect(periodOf(iso('2027-01-01T12:00:00Z'), 'week', 'UTC').label).toBe('2026-W53');
    expect(periodOf(iso('2027-01-04T00:00:00Z'), 'week', 'UTC').label).toBe('2027-W01');
    expect(periodOf(iso('2024-12-30T00:00:00Z'), 'week', 'UTC').label).toBe('2025-W01');
  });

  it('periodsBetween is contiguous and covers the range', () => {
    const ps = periodsBetween(iso('2026-01-30T12:00:00Z'), iso('2026-03-02T00:00:00Z'), 'month', 'UTC');
    expect(ps.map((p) => p.label)).toEqual(['2026-01', '2026-02', '2026-03']);
    for (let i = 1; i < ps.length; i++) expect(ps[i].start).toBe(ps[i - 1].end);
    expect(periodsBetween(5, 5, 'day', 'UTC')).toEqual([]);
  });
});

describe('periods in a zone with daylight saving (Europe/Berlin)', () => {
  const tz = 'Europe/Berlin';

  it('the day clocks go forward has 23 hours, the day they go back 25', () => {
    const spring = periodOf(iso('2026-03-29T12:00:00Z'), 'day', tz);
    expect(spring.start).toBe(iso('2026-03-28T23:00:00Z'));
    expect(spring.end - spring.start).toBe(23 * H);
    const autumn = periodOf(iso('2026-10-25T12:00:00Z'), 'day', tz);
    expect(autumn.start).toBe(iso('2026-10-24T22:00:00Z'));
    expect(autumn.end - autumn.start).toBe(25 * H);
  });

  it('hours across the change are each one hour, labelled with local time (02:00 twice in autumn)', () => {
    const hours = periodsBetween(iso('2026-10-24T23:00:00Z'), iso('2026-10-25T03:00:00Z'), 'hour', tz);
    expect(hours.map((h) => h.label)).toEqual(['2026-10-25 01:00', '2026-10-25 02:00', '2026-10-25 02:00', '2026-10-25 03:00']);
    for (const h of hours) expect(h.end - h.start).toBe(H);
    const spring = periodsBetween(iso('2026-03-29T00:00:00Z'), iso('2026-03-29T02:00:00Z'), 'hour', tz);
    expect(spring.map((h) => h.label)).toEqual(['2026-03-29 01:00', '2026-03-29 03:00']);
  });

  it('a month and a week that hold a change start at local midnight', () => {
    const march = periodOf(iso('2026-03-15T00:00:00Z'), 'month', tz);
    expect(march.start).toBe(iso('2026-02-28T23:00:00Z'));
    expect(march.end).toBe(iso('2026-03-31T22:00:00Z'));
    const week = periodOf(iso('2026-03-29T12:00:00Z'), 'week', tz);
    expect(week.start).toBe(iso('2026-03-22T23:00:00Z'));
    expect(week.end - week.start).toBe(7 * 24 * H - H);
  });

  it('fromWall: a skipped time is the moment after the jump, a doubled one the first', () => {
    expect(fromWall(2026, 3, 29, 2, 30, tz)).toBe(iso('2026-03-29T01:30:00Z')); // 03:30 CEST
    expect(fromWall(2026, 10, 25, 2, 30, tz)).toBe(iso('2026-10-25T00:30:00Z')); // first 02:30, CEST
  });

  it('ISO times carry the offset in force', () => {
    expect(isoWithOffset(iso('2026-07-01T10:00:00Z'), tz)).toBe('2026-07-01T12:00:00+02:00');
    expect(isoWithOffset(iso('2026-12-01T10:00:00Z'), tz)).toBe('2026-12-01T11:00:00+01:00');
    expect(isoWithOffset(iso('2026-12-01T10:00:00Z'), 'UTC')).toBe('2026-12-01T10:00:00Z');
  });
});

describe('periods in a zone offset by half an hour (Asia/Kolkata, +05:30)', () => {
  it('local hours start at :30 UTC, local days at 18:30 UTC', () => {
    const t = iso('2026-12-02T08:10:00Z'); // 13:40 local
    expect(periodOf(t, 'hour', 'Asia/Kolkata')).toMatchObject({ start: iso('2026-12-02T07:30:00Z'), label: '2026-12-02 13:00' });
    expect(periodOf(t, 'day', 'Asia/Kolkata')).toMatchObject({ start: iso('2026-12-01T18:30:00Z'), end: iso('2026-12-02T18:30:00Z') });
  });
});
