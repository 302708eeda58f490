/**
 * Parsers for the text of cgroup interface files, v2 and v1 (kernel formats as in
 * Documentation/admin-guide/cgroup-v2.rst "Interface Files" and the cgroup-v1 docs). Pure.
 */

/** Flat keyed files: cpu.stat, memory.stat, memory.events, cpuacct.stat, pids.events ("key value" lines). */
export function parseFlatKeyed(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const sp = line.indexOf(' ');
    if (sp <= 0) continue;
    const v = Number(line.slice(sp + 1).trim());
    if (Number.isFinite(v)) out.set(line.slice(0, sp), v);
  }
  return out;
}

/** parseFlatKeyed(text).get(key) without splitting the whole file: the last finite value of a line "KEY VALUE". */
export function flatKeyedValue(text: string, key: string): number | undefined {
  const needle = `\n${key} `;
  let value: number | undefined;
  // `at`: where a line "KEY ..." starts, -1 when there is no more.
  let at = text.startsWith(needle.slice(1)) ? 0 : lineAfter(text, needle, 0);
  while (at >= 0) {
    const end = text.indexOf('\n', at);
    const v = Number(text.slice(at + needle.length - 1, end < 0 ? text.length : end).trim());
    if (Number.isFinite(v)) value = v;
    at = end < 0 ? -1 : lineAfter(text, needle, end);
  }
  return value;
}

function lineAfter(text: string, needle: string, from: number): number {
  const i = text.indexOf(needle, from);
  return i < 0 ? -1 : i + 1;
}

/** A single value file (memory.current, pids.max, cpuacct.usage_user): a number, or null for "max". */
export function parseSingle(text: string): number | null | undefined {
  const t = text.trim();
  if (t === 'max') return null;
  if (!/^-?\d+$/.test(t)) return undefined;
  return Number(t);
}

export interface DeviceIo {
  /** MAJ:MIN */
  device: string;
  readBytes: number;
  writeBytes: number;
}

/** v2 io.stat, nested keyed: "MAJ:MIN rbytes=N wbytes=N rios=N wios=N dbytes=N dios=N" (keys may be added). */
export function parseIoStat(text: string): DeviceIo[] {
  const out: DeviceIo[] = [];
  for (const line of text.split('\n')) {
    const [device, ...pairs] = line.trim().split(/\s+/);
    if (!/^\d+:\d+$/.test(device ?? '')) continue;
    const kv = new Map(pairs.map((p) => p.split('=') as [string, string]));
    out.push({ device, readBytes: Number(kv.get('rbytes') ?? 0), writeBytes: Number(kv.get('wbytes') ?? 0) });
  }
  return out;
}

/**
 * v1 blkio rwstat files (blkio.throttle.io_service_bytes_recursive): "MAJ:MIN Read N" ... and a
 * last "Total N". Only devices the kernel lists appear; a device with no line was not counted.
 */
export function parseBlkioRwstat(text: string): DeviceIo[] {
  const out: DeviceIo[] = [];
  // Line by line with indexOf: the daemon parses one of these per cgroup per sample.
  for (let at = 0; at < text.length; ) {
    const nl = text.indexOf('\n', at);
    const end = nl < 0 ? text.length : nl;
    const [device, op, value] = text.slice(at, end).trim().split(/\s+/);
    at = end + 1;
    if (value === undefined || (op !== 'Read' && op !== 'Write') || !/^\d+:\d+$/.test(device)) continue;
    let d = out.find((x) => x.device === device);
    if (!d) out.push((d = { device, readBytes: 0, writeBytes: 0 }));
    if (op === 'Read') d.readBytes = Number(value);
    else d.writeBytes = Number(value);
  }
  return out;
}

export interface PressureLine {
  /** Percent of the last 10 s, as the kernel prints it (0.00-100.00). */
  avg10: number;
  avg60: number;
  avg300: number;
  /** Microseconds, cumulative. */
  totalUs: number;
}

export interface PressureText {
  some: PressureLine;
  /** Absent in cpu.pressure before 5.13. */
  full?: PressureLine;
}

/** *.pressure (PSI): "some avg10=0.00 avg60=0.00 avg300=0.00 total=0" and a "full" line. */
export function parsePressure(text: string): PressureText | undefined {
  const some = pressureLine(text, 'some');
  if (!some) return undefined;
  const full = pressureLine(text, 'full');
  return full ? { some, full } : { some };
}

const PSI_AVG = /^\d+\.\d+$/;
const PSI_TOTAL = /^\d+$/;

/** Where psiField reads next: module state rather than a closure per line (the daemon parses 3,000 lines a sample). */
let psiAt = 0;

/** The field " NAME=VALUE" at psiAt, psiAt moved past it; NaN when it is not there. */
function psiField(text: string, name: string, last: boolean): number {
  if (!text.startsWith(name, psiAt)) return NaN;
  const from = psiAt + name.length;
  const stop = text.indexOf(last ? '\n' : ' ', from);
  psiAt = stop < 0 ? text.length : stop;
  const v = text.slice(from, psiAt);
  return (last ? PSI_TOTAL : PSI_AVG).test(v) ? Number(v) : NaN;
}

/** The line "KIND avg10=… total=…" of a pressure file, with indexOf (no match objects). */
function pressureLine(text: string, kind: 'some' | 'full'): PressureLine | undefined {
  const at = text.startsWith(kind) ? 0 : text.indexOf(`\n${kind}`) + 1;
  if (at === 0 && !text.startsWith(kind)) return undefined;
  psiAt = at + kind.length;
  const avg10 = psiField(text, ' avg10=', false);
  const avg60 = psiField(text, ' avg60=', false);
  const avg300 = psiField(text, ' avg300=', false);
  const totalUs = psiField(text, ' total=', true);
  return Number.isNaN(avg10 + avg60 + avg300 + totalUs) ? undefined : { avg10, avg60, avg300, totalUs };
}

export interface ProcCgroups {
  /** The cgroup2 path ("0::/path"), if the process has one. */
  v2?: string;
  /** v1 controller -> path, from "N:cpu,cpuacct:/path" lines (named hierarchies left out). */
  v1: Record<string, string>;
}

/** /proc/PID/cgroup. */
export function parseProcCgroup(text: string): ProcCgroups {
  const out: ProcCgroups = { v1: {} };
  for (const line of text.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    if (m[1] === '0' && m[2] === '') out.v2 = m[3];
    else for (const c of m[2].split(',')) if (c && !c.startsWith('name=')) out.v1[c] = m[3];
  }
  return out;
}
