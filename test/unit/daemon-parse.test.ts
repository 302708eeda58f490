import { describe, expect, it } from 'vitest';
import { DEFAULT_LISTEN, parseListen } from '../../src/cli/commands/daemon';
import { buildProgram } from '../../src/cli/main';
import { DEFAULT_DB } from '../../src/history/store';
import { RouteTable } from '../../src/daemon/http';
import { parseDuration, parseTime, readTime } from '../../src/history/time';
import { parseWhen } from '../../src/report/when';
import { sourceFor } from '../../src/history/query';

const NOW = Date.UTC(2026, 11, 6, 12, 0, 0);

describe('parseTime (--since, --until, the history API)', () => {
  it('takes durations ago', () => {
    expect(parseTime('30m', NOW)).toBe(NOW - 1800_000);
    expect(parseTime('7d', NOW)).toBe(NOW - 7 * 86400_000);
    expect(parseDuration('4w')).toBe(28 * 86400);
    expect(parseDuration('5 m')).toBeUndefined();
  });

  it('takes ISO dates and times, local unless they have a zone', () => {
    expect(parseTime('2026-12-01', NOW)).toBe(new Date(2026, 11, 1).getTime());
    expect(parseTime('2026-12-01T08:00', NOW)).toBe(new Date(2026, 11, 1, 8, 0).getTime());
    expect(parseTime('2026-12-01T08:00:00Z', NOW)).toBe(Date.UTC(2026, 11, 1, 8));
  });

  it('refuses what it cannot read, and dates that do not exist, naming the option', () => {
    for (const bad of ['yesterday', '7', '2026-02-31', '2026-13-01', '2026-12-01T25:00', '']) expect(() => parseTime(bad, NOW, 'until')).toThrow(/^until: ".*" is not a time/);
  });
});

describe('readTime: the one reading of --since/--until (report) and since/until (history API)', () => {
  it('reads a time without an offset in the zone it is given, with one in its own', () => {
    expect(readTime('2026-12-01T08:00', NOW, 'Europe/Berlin')).toBe(Date.UTC(2026, 11, 1, 7));
    expect(readTime('2026-12-01', NOW, 'UTC')).toBe(Date.UTC(2026, 11, 1));
    expect(readTime('2026-12-01T08:00:30+01:00', NOW, 'UTC')).toBe(Date.UTC(2026, 11, 1, 7, 0, 30));
    expect(readTime('2026-02-31T08:00Z', NOW, 'UTC')).toBeUndefined();
  });

  it('the report and the history API read every text alike', () => {
    for (const text of ['30m', '12h', '7d', '4w', '2026-12-01', '2026-12-01T08:00', '2026-12-01T08:00:00Z', '2026-12-01T08:00+01:00']) {
      expect(parseWhen('--since', text, NOW, 'UTC'), text).toBe(readTime(text, NOW, 'UTC'));
      expect(parseTime(text, NOW), text).toBe(readTime(text, NOW, Intl.DateTimeFormat().resolvedOptions().timeZone));
    }
    for (const bad of ['yesterday', '7', '2026-02-31', '2026-12-01T25:00']) expect(() => parseWhen('--since', bad, NOW, 'UTC')).toThrow(/^report: --since ".*": expected/);
  });
});

describe('parseListen', () => {
  it('splits ADDR:PORT and [IPv6]:PORT', () => {
    expect(parseListen('127.0.0.1:9847')).toEqual({ host: '127.0.0.1', port: 9847 });
    expect(parseListen('[::1]:0')).toEqual({ host: '::1', port: 0 });
  });

  it('refuses anything else', () => {
    for (const bad of ['9847', 'localhost', '::1:9847', '127.0.0.1:65536', '127.0.0.1:']) expect(() => parseListen(bad)).toThrow(/--listen/);
  });

  it('defaults to loopback port 9847, 10 s and /var/lib/subhost/history.sqlite (SPEC 4.1), as the command line declares them', () => {
    const daemon = buildProgram().commands.find((c) => c.name() === 'daemon')!;
    const dflt = (long: string) => daemon.options.find((o) => o.long === long)?.defaultValue;
    expect(dflt('--listen')).toBe('127.0.0.1:9847');
    expect(dflt('--listen')).toBe(DEFAULT_LISTEN);
    expect(dflt('--interval')).toBe(10);
    expect(dflt('--db')).toBe('/var/lib/subhost/history.sqlite');
    expect(dflt('--db')).toBe(DEFAULT_DB);
  });
});

describe('history query source', () => {
  const q = (stepSeconds: number, sinceDaysAgo: number) => ({ stepSeconds, sinceMs: NOW - sinceDaysAgo * 86400_000 });
  it('answers from the finest table that has the step', () => {
    expect(sourceFor(q(60, 1), NOW)).toBe('samples');
    expect(sourceFor(q(5400, 1), NOW)).toBe('samples');
    expect(sourceFor(q(3600, 30), NOW)).toBe('hourly');
    expect(sourceFor(q(86400, 30), NOW)).toBe('hourly');
    expect(sourceFor(q(86400, 200), NOW)).toBe('daily');
  });
});

describe('RouteTable', () => {
  it('finds exact paths first, then the longest prefix, and refuses a taken path', () => {
    const h = (n: string) => () => ({ type: 'text/plain', body: n });
    const t = new RouteTable().add('/', h('root')).addPrefix('/static/', h('static')).addPrefix('/static/js/', h('js'));
    expect((t.find('/') as any)().body).toBe('root');
    expect((t.find('/static/js/a.js') as any)().body).toBe('js');
    expect((t.find('/static/a.css') as any)().body).toBe('static');
    expect(t.find('/nothing')).toBeUndefined();
    expect(() => t.add('/', h('again'))).toThrow(/taken/);
  });
});
