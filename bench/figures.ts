import { summarize, type Summary } from './stats';

export type Unit = 'ms' | 's' | 'MiB' | 'x' | '%';

/** One line of the report: a measured figure, with its target when the issue sets one. */
export interface Figure extends Summary {
  id: string;
  label: string;
  unit: Unit;
  target?: number;
  /** True when the median meets the target (targets are upper bounds). */
  ok?: boolean;
  note?: string;
}

export function figure(id: string, label: string, unit: Unit, values: number[], target?: number, note?: string): Figure {
  const s = summarize(values);
  return { id, label, unit, ...s, ...(target !== undefined ? { target, ok: s.median <= target } : {}), ...(note ? { note } : {}) };
}

function fmt(v: number, unit: Unit): string {
  if (Number.isNaN(v)) return '-';
  const digits = unit === 'ms' ? (v < 10 ? 1 : 0) : unit === 'x' ? 2 : unit === 'MiB' ? 2 : 2;
  return `${v.toFixed(digits)}${unit === 'x' ? '×' : unit === '%' ? '%' : ` ${unit}`}`;
}

/** A floor is not a result of ours: above its target, it says the target is out of reach here. */
function verdict(f: Figure): string {
  if (f.id.startsWith('floor-')) return f.ok ? 'floor below target' : 'FLOOR ABOVE target: out of reach here';
  return f.ok ? 'met' : 'MISSED';
}

export function formatTable(figures: Figure[]): string[] {
  const rows = [['figure', 'median', 'min', 'max', 'n', 'target', '']];
  for (const f of figures) {
    rows.push([
      f.label,
      fmt(f.median, f.unit),
      fmt(f.min, f.unit),
      fmt(f.max, f.unit),
      String(f.n),
      f.target !== undefined ? `≤ ${fmt(f.target, f.unit)}` : '',
      f.ok === undefined ? (f.note ?? '') : `${verdict(f)}${f.note ? `; ${f.note}` : ''}`,
    ]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === 0 || i === r.length - 1 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd());
}
