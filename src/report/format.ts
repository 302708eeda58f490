import { humanBytes, table } from '../plain-text';
import { isoWithOffset } from './calendar';
import { reportLines, type Figures, type Line } from './figures';
import type { Report } from './types';
import type { ReportFormat } from './when';

/** 12.3s, 5m12s, 3h04m, 2d03h: CPU and running time at a glance. */
export function humanSeconds(s: number | null): string {
  if (s === null) return '-';
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, '0')}h`;
}

const bytes = (n: number | null) => humanBytes(n === null ? null : Math.round(n));

function tableLines(r: Report, lines: Line[]): string[] {
  const rows = [['PERIOD', 'HOST', 'KIND', 'NAME', 'CPU-USER', 'CPU-SYS', 'MEM-AVG', 'MEM-PEAK', 'IO-READ', 'IO-WRITE', 'RUNNING', 'RESTARTS', 'NOT-COVERED']];
  for (const l of lines) {
    const f = l.figures;
    const label = l.kind === 'gap' ? `${isoWithOffset(l.start, r.timeZone).slice(0, 16)}..${isoWithOffset(l.end, r.timeZone).slice(0, 16)}` : l.label;
    const gapHead = l.kind === 'gap' && l.name === '';
    rows.push([
      label,
      l.host || '*',
      l.kind,
      l.name || (l.kind === 'total' ? (l.host ? '(host)' : '(all hosts)') : ''),
      gapHead ? '' : humanSeconds(f.cpuUserSeconds),
      gapHead ? '' : humanSeconds(f.cpuSystemSeconds),
      l.kind === 'gap' ? '' : bytes(f.memoryAverageBytes),
      l.kind === 'gap' ? '' : bytes(f.memoryPeakBytes),
      gapHead ? '' : bytes(f.ioReadBytes),
      gapHead ? '' : bytes(f.ioWriteBytes),
      l.kind === 'gap' ? '' : humanSeconds(f.runningSeconds),
      gapHead ? '' : String(f.restarts),
      l.notCoveredSeconds === undefined || (l.kind !== 'gap' && l.host === '') ? '' : humanSeconds(l.notCoveredSeconds),
    ]);
  }
  return table(rows);
}

const CSV_FIGURES: (keyof Figures)[] = ['cpuUserSeconds', 'cpuSystemSeconds', 'memoryAverageBytes', 'memoryPeakBytes', 'ioReadBytes', 'ioWriteBytes', 'runningSeconds', 'restarts'];
const snake = (k: string) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

function csvCell(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return String(v);
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function csvLines(r: Report, lines: Line[]): string[] {
  const head = ['period_start', 'period_end', 'period', 'host', 'kind', 'name', ...CSV_FIGURES.map(snake), 'covered_seconds', 'not_covered_seconds'];
  return [
    head.join(','),
    ...lines.map((l) =>
      [isoWithOffset(l.start, r.timeZone), isoWithOffset(l.end, r.timeZone), l.label, l.host, l.kind, l.name, ...CSV_FIGURES.map((k) => l.figures[k]), l.coveredSeconds, l.notCoveredSeconds].map(csvCell).join(','),
    ),
  ];
}

/** JSON: the report's range and zone, then periods with their rows and totals, then gaps (fields in the README). */
function json(r: Report, lines: Line[]): unknown {
  const periods: { start: string; end: string; label: string; rows: unknown[]; hosts: unknown[]; total?: unknown }[] = [];
  const gaps: { host: string; start: string; end: string; seconds: number; usage: unknown[] }[] = [];
  for (const l of lines) {
    const start = isoWithOffset(l.start, r.timeZone);
    if (l.kind === 'gap') {
      if (l.name === '') gaps.push({ host: l.host, start, end: isoWithOffset(l.end, r.timeZone), seconds: l.notCoveredSeconds!, usage: [] });
      else {
        const [kind, name] = l.name.split('/');
        gaps[gaps.length - 1].usage.push({ kind, name, ...l.figures });
      }
      continue;
    }
    let p = periods[periods.length - 1];
    if (!p || p.start !== start) periods.push((p = { start, end: isoWithOffset(l.end, r.timeZone), label: l.label, rows: [], hosts: [] }));
    if (l.kind !== 'total') p.rows.push({ host: l.host, kind: l.kind, name: l.name, ...l.figures });
    else if (l.host) p.hosts.push({ host: l.host, coveredSeconds: l.coveredSeconds, notCoveredSeconds: l.notCoveredSeconds, ...l.figures });
    else p.total = { ...l.figures };
  }
  for (const p of periods) if (!p.total && p.hosts.length === 1) p.total = { ...(p.hosts[0] as Record<string, unknown>), host: undefined, coveredSeconds: undefined, notCoveredSeconds: undefined };
  return { by: r.by, timeZone: r.timeZone, since: isoWithOffset(r.since, r.timeZone), until: isoWithOffset(r.until, r.timeZone), periods, gaps };
}

/** The report in one format, as lines to print. */
export function formatReport(r: Report, format: ReportFormat): string[] {
  const lines = reportLines(r);
  if (format === 'json') return [JSON.stringify(json(r, lines), null, 2)];
  if (lines.length === 0) return format === 'csv' ? [csvLines(r, lines)[0]] : [];
  return format === 'csv' ? csvLines(r, lines) : tableLines(r, lines);
}
