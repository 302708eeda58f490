/** What the dashboard reads from the daemon's API, and how it prints figures. */

export interface Usage {
  kind: 'subhost' | 'vm';
  cpu: { userSeconds: number | null; systemSeconds: number | null };
  memory: { currentBytes: number | null };
  io: { readBytes: number | null; writeBytes: number | null };
  tasks: { count: number | null };
}

export interface Snapshot {
  host: string;
  sampledAt: string | null;
  intervalSeconds: number;
  subhosts: { name: string; state: string; uptimeSeconds?: number; usage: Usage | null }[];
  vms: { name: string; usage: Usage | null; state?: string; uptimeSeconds?: number }[];
}

/** A bucket of /api/v1/history: counter growth and memory over one step. */
export interface Point {
  time: string;
  cpuUserSeconds: number;
  cpuSystemSeconds: number;
  ioReadBytes: number;
  ioWriteBytes: number;
  memoryAvgBytes: number | null;
  memoryPeakBytes: number | null;
}

export interface Series {
  host: string;
  kind: string;
  name: string;
  points: Point[];
}

export interface Row {
  name: string;
  kind: string;
  state: string;
  uptime: number | null;
  cpu: number | null;
  mem: number | null;
  ioRead: number | null;
  ioWrite: number | null;
  tasks: number | null;
}

export function bytes(n: number | null): string {
  if (n === null) return '-';
  const units = ['B', 'K', 'M', 'G', 'T'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${Math.round(v)}B` : `${v.toFixed(1)}${units[i]}`;
}

export const rate = (n: number | null) => (n === null ? '-' : `${bytes(n)}/s`);

/** CPU in cores as a percentage of one core (150% = one and a half). */
export const cores = (n: number | null) => (n === null ? '-' : `${(n * 100).toFixed(n < 0.1 ? 1 : 0)}%`);

export function duration(s: number): string {
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d) return `${d}d${h}h`;
  if (h) return `${h}h${m}m`;
  if (m) return `${m}m${Math.floor(s % 60)}s`;
  return `${Math.floor(s)}s`;
}
