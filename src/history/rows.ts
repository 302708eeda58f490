import type { Bucket, RawSample } from './rollup';

/** Rows of the history tables (snake_case columns, see store.ts) as the typed objects. */
export function rowToSample(r: any): RawSample {
  return {
    tMs: r.t_ms,
    cpuUserSeconds: r.cpu_user_seconds,
    cpuSystemSeconds: r.cpu_system_seconds,
    memoryCurrentBytes: r.memory_current_bytes,
    memoryPeakBytes: r.memory_peak_bytes,
    ioReadBytes: r.io_read_bytes,
    ioWriteBytes: r.io_write_bytes,
    tasks: r.tasks,
  };
}

/** A bucket from a row of hourly/daily. */
export function rowToBucket(r: any): Bucket {
  return {
    start: r.period_start,
    samples: r.samples,
    coveredSeconds: r.covered_seconds,
    cpuUserSeconds: r.cpu_user_seconds,
    cpuSystemSeconds: r.cpu_system_seconds,
    ioReadBytes: r.io_read_bytes,
    ioWriteBytes: r.io_write_bytes,
    memorySamples: r.memory_samples,
    memoryAvgBytes: r.memory_avg_bytes,
    memoryPeakBytes: r.memory_peak_bytes,
    tasksMax: r.tasks_max,
  };
}
