import { readFileOr } from '../../host/read-file';
import { findV1Hierarchies, type V1Controller, type V1Hierarchy } from '../../host/cgroup-v1';
import { Cgroup } from '../../host/cgroupfs';
import type { Limits } from '../config/types';
import type { CgroupSet } from './subhost-cgroups';

export type LimitVariable = 'CPUS' | 'MEMORY' | 'PIDS' | 'IO_WEIGHT';
export type CgroupVersion = 'v2' | 'v1';

/** One way to apply a limit: files written in order, in the cgroup of one hierarchy. */
export interface LimitTarget {
  variable: LimitVariable;
  source: CgroupVersion;
  /** As the hierarchy names it: cpu, memory, pids, io (v2); cpu, memory, pids, blkio (v1). */
  controller: string;
  /** `optional`: written only where the cgroup has the file (a controller's policy that may be absent). */
  writes: { file: string; value: string; optional?: boolean }[];
  /** Shown beside the limit wherever it is reported. */
  note?: string;
}

/** A limit as applied: absolute file paths (what `status` reads back). */
export interface AppliedLimit {
  variable: LimitVariable;
  source: CgroupVersion;
  controller: string;
  files: { path: string; value: string }[];
  note?: string;
}

export const CPU_PERIOD_US = 100_000;
/** blkio.bfq.weight takes 1-1000 (io.weight 1-10000); both default to 100. */
export const BFQ_WEIGHT_MAX = 1000;

/** Every place each configured limit can go, best first: the cgroup v2 file, then its v1 equivalent. Pure. */
export function limitTargets(limits: Limits): LimitTarget[][] {
  const out: LimitTarget[][] = [];
  if (limits.cpus !== undefined) {
    const quota = String(Math.max(1000, Math.round(limits.cpus * CPU_PERIOD_US)));
    out.push([
      { variable: 'CPUS', source: 'v2', controller: 'cpu', writes: [{ file: 'cpu.max', value: `${quota} ${CPU_PERIOD_US}` }] },
      // Period first: the kernel checks a new quota against the period in force.
      { variable: 'CPUS', source: 'v1', controller: 'cpu', writes: [{ file: 'cpu.cfs_period_us', value: String(CPU_PERIOD_US) }, { file: 'cpu.cfs_quota_us', value: quota }] },
    ]);
  }
  if (limits.memory !== undefined) {
    const bytes = String(limits.memory);
    out.push([
      { variable: 'MEMORY', source: 'v2', controller: 'memory', writes: [{ file: 'memory.max', value: bytes }] },
      { variable: 'MEMORY', source: 'v1', controller: 'memory', writes: [{ file: 'memory.limit_in_bytes', value: bytes }] },
    ]);
  }
  if (limits.pids !== undefined) {
    const n = String(limits.pids);
    out.push([
      { variable: 'PIDS', source: 'v2', controller: 'pids', writes: [{ file: 'pids.max', value: n }] },
      { variable: 'PIDS', source: 'v1', controller: 'pids', writes: [{ file: 'pids.max', value: n }] },
    ]);
  }
  if (limits.ioWeight !== undefined) {
    const w = limits.ioWeight;
    const bfq = Math.min(w, BFQ_WEIGHT_MAX);
    const clamped = w > BFQ_WEIGHT_MAX ? `IO_WEIGHT ${w} is above blkio.bfq.weight's 1-${BFQ_WEIGHT_MAX}: ${bfq} written; ` : '';
    out.push([
      // io.weight is read by blk-iocost only; BFQ, the scheduler whose weights a stock kernel applies, reads its own file.
      { variable: 'IO_WEIGHT', source: 'v2', controller: 'io', writes: [{ file: 'io.weight', value: `default ${w}` }, { file: 'io.bfq.weight', value: `default ${bfq}`, optional: true }] },
      { variable: 'IO_WEIGHT', source: 'v1', controller: 'blkio', writes: [{ file: 'blkio.bfq.weight', value: String(bfq) }], note: `${clamped}acts on devices whose scheduler is bfq` },
    ]);
  }
  return out;
}

/** Pick, for each limit, the first target the host offers; a limit with none is a warning. Pure. */
export function chooseLimits(limits: Limits, offered: (t: LimitTarget) => boolean): { targets: LimitTarget[]; warnings: string[] } {
  const targets: LimitTarget[] = [];
  const warnings: string[] = [];
  for (const candidates of limitTargets(limits)) {
    const t = candidates.find(offered);
    if (t) targets.push(t);
    else warnings.push(notOffered(candidates));
  }
  return { targets, warnings };
}

function notOffered(candidates: LimitTarget[]): string {
  const where = candidates.map((c) => `cgroup ${c.source} ${c.writes.filter((w) => !w.optional).map((w) => w.file).join(' and ')} (${c.controller} controller)`);
  return `${candidates[0].variable} not applied: this host offers neither ${where.join(' nor ')}`;
}

/** What the host's cgroup layout offers a new subhost cgroup: read-only, for the plan. */
export interface CgroupLayout {
  /** Controllers the cgroup2 root can hand down (its cgroup.controllers). */
  v2: string[];
  /** Controllers on cgroup v1 hierarchies (hybrid hosts). */
  v1: string[];
}

export function readCgroupLayout(cgroupMount: string, v1: V1Hierarchy[] = findV1Hierarchies()): CgroupLayout {
  return { v2: new Cgroup(cgroupMount).controllers(), v1: v1.flatMap((h) => h.controllers) };
}

/** The limits a plan expects to apply, from the layout (the cgroup step decides for real). Pure. */
export function predictLimits(limits: Limits, layout: CgroupLayout): { targets: LimitTarget[]; warnings: string[] } {
  return chooseLimits(limits, (t) => (t.source === 'v2' ? layout.v2 : layout.v1).includes(t.controller));
}

function cgroupOf(set: CgroupSet, t: LimitTarget): Cgroup | undefined {
  return t.source === 'v2' ? set.v2 : set.v1For(t.controller as V1Controller);
}

/**
 * Write each limit where the new cgroup has its file: v2 where its controller is enabled (the
 * files exist only then), else the v1 equivalent on a hybrid host. Anything else is a warning.
 */
export function applyLimits(set: CgroupSet, limits: Limits): { applied: AppliedLimit[]; warnings: string[] } {
  const { targets, warnings } = chooseLimits(limits, (t) => {
    const cg = cgroupOf(set, t);
    return cg !== undefined && t.writes.every((w) => w.optional || cg.has(w.file));
  });
  const applied = targets.map((t) => {
    const cg = cgroupOf(set, t)!;
    const writes = t.writes.filter((w) => !w.optional || cg.has(w.file));
    for (const w of writes) cg.set(w.file, w.value);
    return { variable: t.variable, source: t.source, controller: t.controller, files: writes.map((w) => ({ path: cg.file(w.file), value: w.value })), ...(t.note ? { note: t.note } : {}) };
  });
  return { applied, warnings };
}

/** A limit with the value each file has now (null: unreadable); the kernel may round, e.g. to pages. */
export interface LimitInForce extends Omit<AppliedLimit, 'files'> {
  files: { path: string; value: string | null }[];
}

export function limitsInForce(applied: AppliedLimit[]): LimitInForce[] {
  return applied.map((a) => ({ ...a, files: a.files.map((f) => ({ path: f.path, value: readNow(f.path) ?? null })) }));
}

function readNow(path: string): string | undefined {
  return readFileOr(path)?.trim();
}

export const WANTED_CONTROLLERS = ['cpu', 'memory', 'pids', 'io'];
