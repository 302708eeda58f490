import { AsyncLocalStorage } from 'node:async_hooks';
import { observeSpawns } from '../../host/exec';

/**
 * `--timings`: where a command's time goes. Each plan step (and each phase around the plan: the
 * config, the locks, the checks) is one row with when it started (ms since the process started,
 * Node's own start included), how long it took, and the external processes spawned meanwhile.
 */
export interface Spawn {
  argv: readonly string[];
  ms: number;
  /** A system call in place of a tool's process: listed with --verbose, not counted as a spawn. */
  call?: boolean;
}

export interface Timing {
  label: string;
  /** performance.now() at its start: ms since the process started. */
  start: number;
  ms: number;
  spawns: Spawn[];
}

const scope = new AsyncLocalStorage<Timing>();
let rows: Timing[] | undefined;
/** Spawns outside any timed row (a row is only what timed() wraps). */
let loose: Spawn[] = [];

/** Start recording (the CLI's --timings); until then timed() only runs fn. */
export function enableTimings(): void {
  if (rows) return;
  rows = [];
  observeSpawns((argv, ms, kind) => (scope.getStore()?.spawns ?? loose).push(kind === 'call' ? { argv, ms, call: true } : { argv, ms }));
}

export function timingsEnabled(): boolean {
  return rows !== undefined;
}

/** Run fn as one row; spawns made inside it (awaited or not) are counted in it. */
export async function timed<T>(label: string, fn: () => Promise<T> | T): Promise<T> {
  if (!rows) return fn();
  const row: Timing = { label, start: performance.now(), ms: 0, spawns: [] };
  rows.push(row);
  try {
    return await scope.run(row, fn);
  } finally {
    row.ms = performance.now() - row.start;
  }
}

/** The rows so far, and the spawns outside them, for printing. */
export function takeTimings(): { rows: Timing[]; loose: Spawn[]; now: number } {
  const out = { rows: rows ?? [], loose, now: performance.now() };
  rows = rows ? [] : undefined;
  loose = [];
  return out;
}

const ms = (n: number) => n.toFixed(1).padStart(7);

/** The spawn's program and its first words: enough to tell losetup --find from losetup --list. */
function shortArgv(argv: readonly string[]): string {
  const text = argv.join(' ');
  return text.length > 90 ? `${text.slice(0, 87)}...` : text;
}

/**
 * One line per row, in start order: start, duration, spawns, label; with verbose each spawn under
 * its row. The total is the process's time so far (Node's start included) and every spawn made.
 */
export function formatTimings(t: { rows: Timing[]; loose: Spawn[]; now: number }, verbose = false): string[] {
  const lines = ['timings:   start      ms  spawns  step'];
  const sorted = [...t.rows].sort((a, b) => a.start - b.start);
  const processes = (list: Spawn[]) => list.filter((s) => !s.call).length;
  const detail = (s: Spawn) => `timings:         ${ms(s.ms)}          - ${s.call ? '(system call) ' : ''}${shortArgv(s.argv)}`;
  let spawns = processes(t.loose);
  for (const r of sorted) {
    spawns += processes(r.spawns);
    lines.push(`timings: ${ms(r.start)} ${ms(r.ms)} ${String(processes(r.spawns)).padStart(7)}  ${r.label}`);
    if (verbose) for (const s of r.spawns) lines.push(detail(s));
  }
  if (t.loose.length) {
    lines.push(`timings:         ${ms(t.loose.reduce((a, s) => a + s.ms, 0))} ${String(processes(t.loose)).padStart(7)}  (outside the steps)`);
    if (verbose) for (const s of t.loose) lines.push(detail(s));
  }
  lines.push(`timings: ${ms(0)} ${ms(t.now)} ${String(spawns).padStart(7)}  total (since the process started)`);
  return lines;
}
