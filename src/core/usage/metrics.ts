import type { Pressure, UsageRecord } from './record';

type Labels = Record<string, string>;
type Sample = [labels: Labels, value: number | null];

/** One Prometheus metric: declared once here, with how its samples come from a usage record. */
export interface MetricDef {
  name: string;
  type: 'counter' | 'gauge';
  /** The base unit the name ends with ('' for a count). */
  unit: 'seconds' | 'bytes' | 'ratio' | '';
  help: string;
  samples(r: UsageRecord): Sample[];
}

/** The kernel prints avg10 with two decimals: 83.52 -> 0.8352, without float noise. */
const percentToRatio = (p: number) => Number((p / 100).toFixed(4));

const RESOURCES = ['cpu', 'memory', 'io'] as const;

function pressure(r: UsageRecord, line: 'some' | 'full', pick: (f: { avg10: number; totalSeconds: number }) => number): Sample[] {
  return RESOURCES.map((res) => {
    const p: Pressure | null = r.pressure[res];
    const f = p ? p[line] : null;
    return [{ resource: res }, f ? pick(f) : null];
  });
}

/** Every metric `usage --prometheus` prints; each sample also carries host, kind and name. */
export const METRICS: MetricDef[] = [
  {
    name: 'subhost_cpu_seconds_total',
    type: 'counter',
    unit: 'seconds',
    help: 'CPU time used by the cgroup, by mode (user, system).',
    samples: (r) => [
      [{ mode: 'user' }, r.cpu.userSeconds],
      [{ mode: 'system' }, r.cpu.systemSeconds],
    ],
  },
  { name: 'subhost_memory_current_bytes', type: 'gauge', unit: 'bytes', help: 'Memory charged to the cgroup now.', samples: (r) => [[{}, r.memory.currentBytes]] },
  { name: 'subhost_memory_peak_bytes', type: 'gauge', unit: 'bytes', help: 'Most memory charged to the cgroup at once since it was made.', samples: (r) => [[{}, r.memory.peakBytes]] },
  { name: 'subhost_memory_anon_bytes', type: 'gauge', unit: 'bytes', help: 'Anonymous memory of the cgroup (part of current).', samples: (r) => [[{}, r.memory.anonBytes]] },
  { name: 'subhost_memory_file_bytes', type: 'gauge', unit: 'bytes', help: 'Page cache of the cgroup, tmpfs included (part of current).', samples: (r) => [[{}, r.memory.fileBytes]] },
  {
    name: 'subhost_io_bytes_total',
    type: 'counter',
    unit: 'bytes',
    help: 'Bytes the cgroup read from and wrote to block devices, by op (read, write).',
    samples: (r) => [
      [{ op: 'read' }, r.io.readBytes],
      [{ op: 'write' }, r.io.writeBytes],
    ],
  },
  { name: 'subhost_tasks', type: 'gauge', unit: '', help: 'Tasks (threads) in the cgroup.', samples: (r) => [[{}, r.tasks.count]] },
  {
    name: 'subhost_pressure_waiting_seconds_total',
    type: 'counter',
    unit: 'seconds',
    help: 'Time in which some tasks of the cgroup waited for the resource (PSI some total).',
    samples: (r) => pressure(r, 'some', (f) => f.totalSeconds),
  },
  {
    name: 'subhost_pressure_stalled_seconds_total',
    type: 'counter',
    unit: 'seconds',
    help: 'Time in which all non-idle tasks of the cgroup waited for the resource at once (PSI full total).',
    samples: (r) => pressure(r, 'full', (f) => f.totalSeconds),
  },
  {
    name: 'subhost_pressure_waiting_avg10_ratio',
    type: 'gauge',
    unit: 'ratio',
    help: 'Share of the last 10 seconds in which some tasks of the cgroup waited for the resource (PSI some avg10).',
    samples: (r) => pressure(r, 'some', (f) => percentToRatio(f.avg10)),
  },
  {
    name: 'subhost_pressure_stalled_avg10_ratio',
    type: 'gauge',
    unit: 'ratio',
    help: 'Share of the last 10 seconds in which all non-idle tasks of the cgroup waited for the resource (PSI full avg10).',
    samples: (r) => pressure(r, 'full', (f) => percentToRatio(f.avg10)),
  },
];

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** Prometheus text exposition (format 0.0.4) of the records; a figure the host lacks has no sample. */
export function formatPrometheus(records: UsageRecord[], metrics: MetricDef[] = METRICS): string {
  // The labels every sample of a record carries, escaped once per record.
  const base = records.map((r) => `host="${escapeLabel(r.host)}",kind="${r.kind}",name="${escapeLabel(r.name)}"`);
  let out = '';
  for (const m of metrics) {
    out += `# HELP ${m.name} ${m.help}\n# TYPE ${m.name} ${m.type}\n`;
    records.forEach((r, i) => {
      for (const [labels, value] of m.samples(r)) {
        if (value === null) continue;
        let extra = '';
        for (const k in labels) extra += `,${k}="${escapeLabel(labels[k])}"`;
        out += `${m.name}{${base[i]}${extra}} ${value}\n`;
      }
    });
  }
  return out;
}
