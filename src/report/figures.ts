import type { Period } from './calendar';
import type { Gap, Report, Usage } from './types';
import { addUsage, emptyUsage, memoryAverage } from './usage-sum';

/** The figures of one output row, in the units JSON and CSV print (seconds, bytes). */
export interface Figures {
  cpuUserSeconds: number | null;
  cpuSystemSeconds: number | null;
  memoryAverageBytes: number | null;
  memoryPeakBytes: number | null;
  ioReadBytes: number | null;
  ioWriteBytes: number | null;
  runningSeconds: number;
  restarts: number;
}

export type LineKind = 'subhost' | 'vm' | 'total' | 'gap';

/** One line of any format: a subhost or VM, a host's total, all hosts' total, or a gap. */
export interface Line {
  start: number;
  end: number;
  label: string;
  /** '' on the all-hosts total. */
  host: string;
  kind: LineKind;
  name: string;
  figures: Figures;
  /** Totals and gaps: how much of the period the history covers, and not. */
  coveredSeconds?: number;
  notCoveredSeconds?: number;
}

const round = (n: number | null, digits = 6) => (n === null ? null : Number(n.toFixed(digits)));

export function figuresOf(u: Usage, memoryAverageBytes = memoryAverage(u)): Figures {
  return {
    cpuUserSeconds: round(u.cpuUserSeconds),
    cpuSystemSeconds: round(u.cpuSystemSeconds),
    memoryAverageBytes: memoryAverageBytes === null ? null : Math.round(memoryAverageBytes),
    memoryPeakBytes: u.memPeakBytes,
    ioReadBytes: u.ioReadBytes,
    ioWriteBytes: u.ioWriteBytes,
    runningSeconds: round(u.runningSeconds, 3)!,
    restarts: u.restarts,
  };
}

interface Total {
  usage: Usage;
  /** Σ average × running time: divided by the covered time, the average of the sum. */
  memByteSeconds: number;
  anyMemory: boolean;
  covered: number;
  notCovered: number;
}

/** addUsage, but the peak stays: totals sum peaks themselves (no copy of u per row). */
function addWithoutPeak(to: Usage, u: Usage): void {
  const peak = to.memPeakBytes;
  addUsage(to, u);
  to.memPeakBytes = peak;
}

const newTotal = (): Total => ({ usage: emptyUsage(), memByteSeconds: 0, anyMemory: false, covered: 0, notCovered: 0 });

/**
 * A total's memory: the average of the summed memory over the covered time, and the sum of the
 * peaks (an upper bound: they need not have happened at once).
 */
function totalFigures(t: Total): Figures {
  const f = figuresOf(t.usage, t.anyMemory && t.covered > 0 ? t.memByteSeconds / t.covered : null);
  f.memoryPeakBytes = t.anyMemory ? t.usage.memPeakBytes : null;
  return f;
}

/** Every line of the report in order: per period its rows, each host's total, then all hosts' total; gaps last. */
export function reportLines(r: Report): Line[] {
  const lines: Line[] = [];
  const byPeriod = new Map<number, { period: Period; rows: Report['rows']; hosts: Report['hosts'] }>();
  const slot = (p: Period) => byPeriod.get(p.start) ?? byPeriod.set(p.start, { period: p, rows: [], hosts: [] }).get(p.start)!;
  for (const row of r.rows) slot(row.period).rows.push(row);
  for (const h of r.hosts) slot(h.period).hosts.push(h);

  for (const { period, rows, hosts } of [...byPeriod.values()].sort((a, b) => a.period.start - b.period.start)) {
    if (rows.length === 0 && hosts.every((h) => h.coveredSeconds === 0)) continue; // nothing known of it
    const base = { start: period.start, end: period.end, label: period.label };
    const totals = new Map<string, Total>();
    for (const h of hosts) Object.assign((totals.get(h.host) ?? totals.set(h.host, newTotal()).get(h.host)!), { covered: h.coveredSeconds, notCovered: h.notCoveredSeconds });
    for (const row of rows) {
      lines.push({ ...base, host: row.host, kind: row.kind, name: row.name, figures: figuresOf(row.usage) });
      const t = totals.get(row.host) ?? totals.set(row.host, newTotal()).get(row.host)!;
      addWithoutPeak(t.usage, row.usage);
      const avg = memoryAverage(row.usage);
      if (avg !== null) {
        t.anyMemory = true;
        t.memByteSeconds += avg * row.usage.runningSeconds;
        t.usage.memPeakBytes = (t.usage.memPeakBytes ?? 0) + (row.usage.memPeakBytes ?? 0);
      }
    }
    const all = newTotal();
    for (const [host, t] of [...totals].sort(([a], [b]) => (a < b ? -1 : 1))) {
      lines.push({ ...base, host, kind: 'total', name: '', figures: totalFigures(t), coveredSeconds: t.covered, notCoveredSeconds: t.notCovered });
      addWithoutPeak(all.usage, t.usage);
      if (t.anyMemory) {
        all.anyMemory = true;
        all.usage.memPeakBytes = (all.usage.memPeakBytes ?? 0) + (t.usage.memPeakBytes ?? 0);
        // Hosts run side by side: their average sums add.
        all.memByteSeconds += t.covered > 0 ? t.memByteSeconds / t.covered : 0;
      }
    }
    if (totals.size > 1) {
      const f = figuresOf(all.usage, all.anyMemory ? all.memByteSeconds : null);
      f.memoryPeakBytes = all.anyMemory ? all.usage.memPeakBytes : null;
      lines.push({ ...base, host: '', kind: 'total', name: '', figures: f });
    }
  }
  for (const g of r.gaps) lines.push(...gapLines(g));
  return lines;
}

/** A gap: one line for the host, and one for each subhost whose counters grew across it. */
function gapLines(g: Gap): Line[] {
  const base = { start: g.start, end: g.end, label: '', host: g.host, kind: 'gap' as const, coveredSeconds: 0, notCoveredSeconds: (g.end - g.start) / 1000 };
  return [{ ...base, name: '', figures: figuresOf(emptyUsage()) }, ...g.usage.map((u) => ({ ...base, name: `${u.kind}/${u.name}`, figures: figuresOf(u.usage) }))];
}
