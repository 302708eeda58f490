import type { Limits } from './config/types';
import type { Cgroup } from '../host/cgroupfs';

export interface LimitWrite {
  variable: 'CPUS' | 'MEMORY' | 'PIDS' | 'IO_WEIGHT';
  controller: 'cpu' | 'memory' | 'pids' | 'io';
  file: string;
  value: string;
}

export const CPU_PERIOD_US = 100_000;

/** The cgroup v2 files and values for the configured limits (pure). */
export function limitWrites(limits: Limits): LimitWrite[] {
  const w: LimitWrite[] = [];
  if (limits.cpus !== undefined) w.push({ variable: 'CPUS', controller: 'cpu', file: 'cpu.max', value: `${Math.max(1000, Math.round(limits.cpus * CPU_PERIOD_US))} ${CPU_PERIOD_US}` });
  if (limits.memory !== undefined) w.push({ variable: 'MEMORY', controller: 'memory', file: 'memory.max', value: String(limits.memory) });
  if (limits.pids !== undefined) w.push({ variable: 'PIDS', controller: 'pids', file: 'pids.max', value: String(limits.pids) });
  if (limits.ioWeight !== undefined) w.push({ variable: 'IO_WEIGHT', controller: 'io', file: 'io.weight', value: `default ${limits.ioWeight}` });
  return w;
}

export const WANTED_CONTROLLERS = ['cpu', 'memory', 'pids', 'io'];

/** Write each limit whose controller is in force; a limit that cannot be applied is a warning, never silence. */
export function applyLimits(cg: Cgroup, limits: Limits, parentControllers: string[]): string[] {
  const warnings: string[] = [];
  for (const w of limitWrites(limits)) {
    if (!parentControllers.includes(w.controller) || !cg.has(w.file)) {
      warnings.push(`${w.variable} not applied: the ${w.controller} controller is not available in cgroup v2 on this host`);
      continue;
    }
    cg.set(w.file, w.value);
  }
  return warnings;
}
