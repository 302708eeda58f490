import type { Command } from 'commander';
import { UsageError } from '../../errors';
import type { Runtime } from '../../core/state/runtime';
import { buildReport, type HistorySource } from '../../report/build';
import { localZone } from '../../report/calendar';
import { formatReport } from '../../report/format';
import { parseBy, parseFormat, parseRange } from '../../report/when';
import { out } from '../format/output';

interface Options {
  since?: string;
  until?: string;
  by: string;
  format: string;
  utc?: boolean;
  db?: string;
  prometheus?: string;
}

export default async function reportCommand(_rt: Runtime, [names]: [string[]], cmd: Command): Promise<number> {
  const o = cmd.opts<Options>();
  if (o.db && o.prometheus) throw new UsageError('report: --db and --prometheus exclude each other');
  const by = parseBy(o.by);
  const format = parseFormat(o.format);
  const timeZone = o.utc ? 'UTC' : localZone();
  const { since, until } = parseRange(o, Date.now(), timeZone);
  let source: HistorySource;
  if (o.prometheus) source = new (await import('../../report/prometheus')).PrometheusSource(o.prometheus);
  else {
    const { DEFAULT_DB } = await import('../../history/store');
    source = new (await import('../../report/local')).LocalSource(o.db ?? DEFAULT_DB);
  }
  try {
    const report = await buildReport(source, { since, until, by, timeZone, names });
    const lines = formatReport(report, format);
    // One write, not one per line (a month by hour is 70 000 lines, each a write(2) to a pipe).
    if (lines.length) out(lines.join('\n'));
  } finally {
    source.close?.();
  }
  return 0;
}
