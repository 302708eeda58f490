import { closeSync, openSync, readFileSync, readSync, readdirSync } from 'node:fs';
import { constants } from 'node:os';

/** A process as recorded in state: the start time tells a reused PID from ours. */
export interface ProcRef {
  pid: number;
  /** Field 22 of /proc/PID/stat: start time in clock ticks since boot. */
  start: number;
}

export interface ProcStat {
  pid: number;
  comm: string;
  state: string;
  ppid: number;
  start: number;
}

/** Parse /proc/PID/stat; comm may hold spaces and parentheses, so split after the last ')'. */
export function parseStat(text: string): ProcStat {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) throw new Error(`malformed /proc stat: ${text.slice(0, 80)}`);
  const rest = text.slice(close + 2).split(' ');
  // rest[0] is field 3 (state); field N is rest[N - 3].
  return {
    pid: Number(text.slice(0, open).trim()),
    comm: text.slice(open + 1, close),
    state: rest[0],
    ppid: Number(rest[1]),
    start: Number(rest[19]),
  };
}

const statBuffer = Buffer.allocUnsafe(4096);

/** open + one read + close (readFileSync adds an fstat and a second read): the daemon reads this for every new PID. */
export function readStat(pid: number): ProcStat | undefined {
  let fd: number;
  try {
    fd = openSync(`/proc/${pid}/stat`, 'r');
  } catch {
    return undefined;
  }
  try {
    const n = readSync(fd, statBuffer, 0, statBuffer.length, null);
    return parseStat(statBuffer.toString('utf8', 0, n));
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

export function procRef(pid: number): ProcRef | undefined {
  const st = readStat(pid);
  return st ? { pid, start: st.start } : undefined;
}

/** True when the process still runs and is the one recorded (not a reused PID, not a zombie). */
export function isAlive(ref: ProcRef | undefined | null): boolean {
  if (!ref) return false;
  const st = readStat(ref.pid);
  return st !== undefined && st.start === ref.start && st.state !== 'Z' && st.state !== 'X';
}

/** Send a signal only to the process we recorded. Returns false when it is gone. */
export function signalProc(ref: ProcRef, signal: NodeJS.Signals): boolean {
  if (!isAlive(ref)) return false;
  try {
    process.kill(ref.pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** True when the process has a handler for the signal (SigCgt in /proc/PID/status). */
export function catchesSignal(pid: number, signal: NodeJS.Signals): boolean {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('SigCgt:'));
    const n = constants.signals[signal];
    return line !== undefined && n !== undefined && ((BigInt(`0x${line.slice(7).trim()}`) >> BigInt(n - 1)) & 1n) === 1n;
  } catch {
    return false;
  }
}

/** The PID as seen from inside nested PID namespaces, outermost first (the NSpid line). */
export function nsPids(pid: number): number[] {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const line = status.split('\n').find((l) => l.startsWith('NSpid:'));
    return line ? line.slice(6).trim().split(/\s+/).map(Number) : [];
  } catch {
    return [];
  }
}

export function readCmdline(pid: number): string[] {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').filter((s, i, a) => i < a.length - 1 || s !== '');
  } catch {
    return [];
  }
}

/** The environment a process was started with (root may read any process's). */
export function readEnviron(pid: number): Record<string, string> {
  return parseEnviron(readEnvironText(pid));
}

/** /proc/PID/environ as read ("" when the process is gone, or a kernel thread). */
export function readEnvironText(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'latin1');
  } catch {
    return '';
  }
}

/** NUL-separated KEY=VALUE pairs (latin1, as read: bytes kept, whatever their encoding). */
export function parseEnviron(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const kv of text.split('\0')) {
    const eq = kv.indexOf('=');
    if (eq > 0) env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return env;
}

/** Does the environment text hold exactly KEY=VALUE (without parsing the rest)? */
export function environHas(text: string, key: string, value: string): boolean {
  const pair = `${key}=${value}\0`;
  return text.startsWith(pair) || text.includes(`\0${pair}`);
}

/** Open file descriptors of a process (the soak watches them for growth). */
export function fdCount(pid: number | 'self'): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return 0;
  }
}

/** The PID allocated last in this PID namespace (/proc/loadavg's last field): unchanged, no process was made. */
export function lastPid(): number | undefined {
  try {
    const text = readFileSync('/proc/loadavg', 'latin1');
    const n = Number(text.slice(text.lastIndexOf(' ') + 1));
    return Number.isInteger(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

export function listPids(): number[] {
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
}

/** Resident and proportional memory of a process in bytes (smaps_rollup). */
export function memoryOf(pid: number): { rss: number; pss: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024;
    return { rss: kb('Rss'), pss: kb('Pss') };
  } catch {
    return undefined;
  }
}

/** Seconds since boot of a start time in clock ticks (USER_HZ is 100 on Linux). */
export function startToEpochMs(start: number): number {
  const uptime = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
  return Date.now() - (uptime - start / 100) * 1000;
}

/** A child's end as a shell reports it: its exit code, or 128 + the signal that killed it. */
export function exitStatus(code: number | null, signal: NodeJS.Signals | null): number {
  return code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0);
}
