import type { UsageRecord } from '../../src/core/usage/record';

/** The figures a test gives a usage record; everything else is what a v2 subhost reports. */
export interface RecordFigures {
  host: string;
  kind?: UsageRecord['kind'];
  name: string;
  cgroup?: string;
  time: number;
  user: number;
  system: number;
  memory: number;
  peak: number | null;
  read: number;
  write: number;
  tasks: number;
}

/** One record of `usage --json`, as the daemon stores it and the report reads it. */
export function usageRecord(f: RecordFigures): UsageRecord {
  return {
    host: f.host,
    kind: f.kind ?? 'subhost',
    name: f.name,
    cgroup: f.cgroup ?? `/sys/fs/cgroup/subhost/${f.name}`,
    time: new Date(f.time).toISOString(),
    cpu: { userSeconds: f.user, systemSeconds: f.system, source: 'v2' },
    memory: { currentBytes: f.memory, peakBytes: f.peak, anonBytes: null, fileBytes: null, source: 'v2' },
    io: { readBytes: f.read, writeBytes: f.write, devices: [], source: 'v2' },
    tasks: { count: f.tasks, source: 'v2' },
    pressure: { cpu: null, memory: null, io: null, source: null },
  };
}
