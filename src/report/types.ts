import type { Period, PeriodKind } from './calendar';

/** One usage sample of one cgroup, as the history keeps it (counters are the kernel's, since the cgroup was made). */
export interface Sample {
  /** Epoch milliseconds. */
  t: number;
  cpuUser: number | null;
  cpuSystem: number | null;
  ioRead: number | null;
  ioWrite: number | null;
  memCurrent: number | null;
  memPeak: number | null;
}

export type Kind = 'subhost' | 'vm';

/** The samples of one subhost or VM on one host, oldest first. */
export interface Series {
  host: string;
  kind: Kind;
  name: string;
  samples: Sample[];
}

/** Usage already summed over an hour (the history's roll-ups, where raw samples have expired). */
export interface Bucket {
  host: string;
  kind: Kind;
  name: string;
  /** Epoch ms of the (first) hour's start; the hour goes whole to the period that holds its start. */
  start: number;
  usage: Usage;
}

/** Seconds of a period a host's daemon covered, from roll-ups; start: the first hour summed (it picks the period as a Bucket's does). */
export interface HostCover {
  host: string;
  start: number;
  seconds: number;
}

/** When a host's daemon took samples (epoch ms, ascending): what the history covers. */
export interface HostTicks {
  host: string;
  ticks: number[];
}

/** Usage summed over some span: adding two gives the usage of both. */
export interface Usage {
  cpuUserSeconds: number | null;
  cpuSystemSeconds: number | null;
  ioReadBytes: number | null;
  ioWriteBytes: number | null;
  /** Sum and count of memory.current samples: their mean is the average. */
  memSum: number;
  memCount: number;
  memPeakBytes: number | null;
  runningSeconds: number;
  /** Counters that went back: the cgroup was made again (reboot, VM restart). */
  restarts: number;
}

export interface ReportRow {
  period: Period;
  host: string;
  kind: Kind;
  name: string;
  usage: Usage;
}

export interface HostPeriod {
  period: Period;
  host: string;
  /** Time of the period (within --since/--until and now) the daemon sampled. */
  coveredSeconds: number;
  /** The rest: host down or daemon stopped. */
  notCoveredSeconds: number;
}

/** A stretch the history does not cover, and the usage that counters show happened somewhere in it. */
export interface Gap {
  host: string;
  start: number;
  end: number;
  usage: { kind: Kind; name: string; usage: Usage }[];
}

export interface Report {
  by: PeriodKind;
  timeZone: string;
  since: number;
  until: number;
  periods: Period[];
  rows: ReportRow[];
  hosts: HostPeriod[];
  gaps: Gap[];
}
