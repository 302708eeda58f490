import { readlinkSync } from 'node:fs';
import type { Cgroup } from '../../host/cgroupfs';
import { flatKeyedValue, parseBlkioRwstat, parseIoStat, parsePressure, parseSingle, type DeviceIo, type PressureText } from '../../host/cgroup-text';
import type { CgroupSet } from '../cgroups/subhost-cgroups';
import { openReadClose, type CgroupFiles } from './files';
import type { DeviceUsage, Pressure, UsageRecord, UsageSource } from './record';

export interface UsageTarget {
  kind: UsageRecord['kind'];
  name: string;
  set: CgroupSet;
}

/** Is MAJ:MIN a loop device (loopN, or a partition of one)? From /sys/dev/block, cached. */
export function sysfsLoopCheck(): (device: string) => boolean {
  const cache = new Map<string, boolean>();
  return (device) => {
    let yes = cache.get(device);
    if (yes === undefined) {
      try {
        yes = device.startsWith('7:') || /\/loop\d+(p\d+)?$/.test(readlinkSync(`/sys/dev/block/${device}`));
      } catch {
        yes = false;
      }
      cache.set(device, yes);
    }
    return yes;
  };
}

const num = (v: number | null | undefined): number | null => (v === undefined ? null : v);

/** Each cgroup's parent directory, made once per Cgroup (the daemon keeps them from sample to sample). */
const parents = new WeakMap<Cgroup, string>();

function parentOf(cg: Cgroup): string {
  let p = parents.get(cg);
  if (p === undefined) parents.set(cg, (p = cg.path.slice(0, cg.path.lastIndexOf('/'))));
  return p;
}

/**
 * Reads cgroup files for one snapshot, fast enough for hundreds of cgroups: which interface
 * files exist depends only on the controllers the parent enables, so it is looked up once per
 * parent and file; the text comes from `files` (open + read + close, or the daemon's held files,
 * which are read without that lookup).
 */
export class CgroupReader {
  /** Parent directory -> file -> is it there (in this snapshot). */
  private present = new Map<string, Map<string, boolean>>();

  constructor(private readonly files: CgroupFiles = openReadClose) {}

  has(cg: Cgroup, file: string): boolean {
    const parent = parentOf(cg);
    let known = this.present.get(parent);
    if (!known) this.present.set(parent, (known = new Map()));
    let yes = known.get(file);
    if (yes === undefined) {
      yes = cg.has(file);
      // A cgroup removed meanwhile (its subhost stopped) says nothing about its siblings' files.
      if (yes || cg.exists()) known.set(file, yes);
    }
    return yes;
  }

  read(cg: Cgroup, file: string): string | undefined {
    const held = this.files.readHeld?.(cg.path, file);
    if (held !== undefined) return held;
    if (!this.has(cg, file)) return undefined;
    return this.files.read(cg.path, file);
  }
}

/**
 * Read one cgroup's usage. Each figure comes from cgroup2 where the file is there, else (hybrid
 * hosts, controller on v1) from the v1 equivalent in the same relative path; `source` says which.
 */
export function readUsage(t: UsageTarget, host: string, time: string, isLoop: (device: string) => boolean = sysfsLoopCheck(), r = new CgroupReader()): UsageRecord {
  const { set } = t;
  return {
    host,
    kind: t.kind,
    name: t.name,
    cgroup: set.v2.path,
    time,
    cpu: readCpu(set, r),
    memory: readMemory(set, r),
    io: readIo(set, r, isLoop),
    tasks: readTasks(set, r),
    pressure: readPressure(set.v2, r),
  };
}

function readCpu(set: CgroupSet, r: CgroupReader): UsageRecord['cpu'] {
  const stat = r.read(set.v2, 'cpu.stat');
  if (stat !== undefined) {
    const s = (k: string) => {
      const v = flatKeyedValue(stat, k);
      return v === undefined ? null : v / 1e6;
    };
    return { userSeconds: s('user_usec'), systemSeconds: s('system_usec'), source: 'v2' };
  }
  const acct = set.v1For('cpuacct');
  if (acct && r.has(acct, 'cpuacct.usage_user')) {
    const ns = (file: string) => {
      const v = single(acct, file, r);
      return v === null ? null : v / 1e9;
    };
    return { userSeconds: ns('cpuacct.usage_user'), systemSeconds: ns('cpuacct.usage_sys'), source: 'v1' };
  }
  return { userSeconds: null, systemSeconds: null, source: null };
}

function single(cg: Cgroup, file: string, r: CgroupReader): number | null {
  const text = r.read(cg, file);
  return text === undefined ? null : num(parseSingle(text));
}

function readMemory(set: CgroupSet, r: CgroupReader): UsageRecord['memory'] {
  if (r.has(set.v2, 'memory.current')) {
    const stat = r.read(set.v2, 'memory.stat') ?? '';
    return { currentBytes: single(set.v2, 'memory.current', r), peakBytes: single(set.v2, 'memory.peak', r), anonBytes: flatKeyedValue(stat, 'anon') ?? null, fileBytes: flatKeyedValue(stat, 'file') ?? null, source: 'v2' };
  }
  const m = set.v1For('memory');
  if (m && r.has(m, 'memory.usage_in_bytes')) {
    // total_*: this cgroup and its descendants, as every v2 figure is.
    const stat = r.read(m, 'memory.stat') ?? '';
    return { currentBytes: single(m, 'memory.usage_in_bytes', r), peakBytes: single(m, 'memory.max_usage_in_bytes', r), anonBytes: flatKeyedValue(stat, 'total_rss') ?? null, fileBytes: flatKeyedValue(stat, 'total_cache') ?? null, source: 'v1' };
  }
  return { currentBytes: null, peakBytes: null, anonBytes: null, fileBytes: null, source: null };
}

/**
 * IO through a loop device is charged to the cgroup twice: on the loop device, and again on the
 * disk under it when the loop device writes its backing file. Where a cgroup has loop devices,
 * only they are counted; every device stays listed.
 */
export function ioTotals(devices: DeviceIo[], isLoop: (device: string) => boolean): { readBytes: number; writeBytes: number; devices: DeviceUsage[] } {
  const anyLoop = devices.some((d) => isLoop(d.device));
  const listed = devices.map((d) => ({ ...d, counted: !anyLoop || isLoop(d.device) }));
  const sum = (k: 'readBytes' | 'writeBytes') => listed.filter((d) => d.counted).reduce((a, d) => a + d[k], 0);
  return { readBytes: sum('readBytes'), writeBytes: sum('writeBytes'), devices: listed };
}

function readIo(set: CgroupSet, r: CgroupReader, isLoop: (device: string) => boolean): UsageRecord['io'] {
  const stat = r.read(set.v2, 'io.stat');
  if (stat !== undefined) return { ...ioTotals(parseIoStat(stat), isLoop), source: 'v2' };
  const blkio = set.v1For('blkio');
  const text = blkio && r.read(blkio, 'blkio.throttle.io_service_bytes_recursive');
  if (text === undefined) return { readBytes: null, writeBytes: null, devices: [], source: null };
  const devices = parseBlkioRwstat(text);
  // No device listed: blk-throttle counted nothing here (see v1-io-accounting), which is not zero IO.
  if (!devices.length) return { readBytes: null, writeBytes: null, devices: [], source: 'v1' };
  return { ...ioTotals(devices, isLoop), source: 'v1' };
}

function readTasks(set: CgroupSet, r: CgroupReader): UsageRecord['tasks'] {
  if (r.has(set.v2, 'pids.current')) return { count: single(set.v2, 'pids.current', r), source: 'v2' };
  const p = set.v1For('pids');
  if (p && r.has(p, 'pids.current')) return { count: single(p, 'pids.current', r), source: 'v1' };
  if (!set.v2.exists()) return { count: null, source: null };
  return { count: countThreads(set.v2), source: 'v2' };
}

/** Without a pids controller: the threads listed in cgroup.threads of the subtree. */
function countThreads(cg: Cgroup): number {
  const own = (cg.get('cgroup.threads') ?? '').split('\n').filter(Boolean).length;
  return own + cg.children().reduce((a, c) => a + countThreads(c), 0);
}

function pressureOf(text: string | undefined): Pressure | null {
  const p: PressureText | undefined = text === undefined ? undefined : parsePressure(text);
  if (!p) return null;
  const fig = (l: { avg10: number; totalUs: number }) => ({ avg10: l.avg10, totalSeconds: l.totalUs / 1e6 });
  return { some: fig(p.some), full: p.full ? fig(p.full) : null };
}

/** PSI is cgroup2 only (present on hybrid hosts too); there is no v1 equivalent. */
function readPressure(v2: Cgroup, r: CgroupReader): UsageRecord['pressure'] {
  const cpu = pressureOf(r.read(v2, 'cpu.pressure'));
  const memory = pressureOf(r.read(v2, 'memory.pressure'));
  const io = pressureOf(r.read(v2, 'io.pressure'));
  const source: UsageSource = cpu || memory || io ? 'v2' : null;
  return { cpu, memory, io, source };
}
