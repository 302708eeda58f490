/**
 * One usage snapshot of one cgroup: what `usage` prints as a table row, a JSON object and a set
 * of Prometheus samples (all three made from this record). null: the host does not say.
 */
export type UsageSource = 'v2' | 'v1' | null;

export interface PressureFigures {
  /** Percent of the last 10 s (0-100), as the kernel prints it. */
  avg10: number;
  totalSeconds: number;
}

export interface Pressure {
  /** Some tasks were stalled on the resource. */
  some: PressureFigures;
  /** All non-idle tasks were stalled at once (null where the kernel has no such line). */
  full: PressureFigures | null;
}

export interface DeviceUsage {
  /** MAJ:MIN */
  device: string;
  readBytes: number;
  writeBytes: number;
  /** False for a device the totals leave out (a loop device's own IO to the disk under it). */
  counted: boolean;
}

export interface UsageRecord {
  host: string;
  kind: 'subhost' | 'vm';
  name: string;
  /** The cgroup2 directory. */
  cgroup: string;
  /** When the snapshot was taken (ISO 8601). */
  time: string;
  cpu: { userSeconds: number | null; systemSeconds: number | null; source: UsageSource };
  memory: { currentBytes: number | null; peakBytes: number | null; anonBytes: number | null; fileBytes: number | null; source: UsageSource };
  io: { readBytes: number | null; writeBytes: number | null; devices: DeviceUsage[]; source: UsageSource };
  tasks: { count: number | null; source: UsageSource };
  pressure: { cpu: Pressure | null; memory: Pressure | null; io: Pressure | null; source: UsageSource };
}
