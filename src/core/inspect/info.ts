import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { listAddrsIn } from '../../host/ip';
import { startToEpochMs } from '../../host/proc';
import { loadConfig } from '../config';
import type { SubhostConfig } from '../config/types';
import { detectLayout, recordedLayout, type Layout } from '../storage/layout';
import { hostIfname, insideIfname, NAME_RE } from '../config/names';
import type { GntMapping } from '../../ganeti/mapping';
import { readMark } from '../../ganeti/mark';
import { deviceNode } from '../plan/boot-plan';
import type { Runtime } from '../state/runtime';
import { namesWithState, readState, type StateRecord, type SubhostStateName } from '../state/records';
import { known, type HostView } from '../state/active';
import { readFileOr } from '../../host/read-file';
import type { PartitionResult } from '../steps/disks';
import { inspectHardening, type HardeningInfo } from './hardening-info';
import type { CgroupResult } from '../steps/cgroup';
import { limitsInForce, type LimitInForce } from '../cgroups/limits';
import type { UsageRecord } from '../usage/record';
import { subhostUsage } from '../usage/collect';
import { findResources, recordScope } from './resources';

export interface DiskInfo {
  node: string;
  image: string;
  partition: number;
  /** Host block device while active (/dev/loop3 or /dev/loop3p1). */
  device?: string;
  major?: number;
  minor?: number;
}

export interface InterfaceInfo {
  host: string;
  inside: string;
  mac: string;
  bridge: string;
  addresses: string[];
}

/** One subhost as `list --json` and `status --json` print it (documented in the README). */
export interface SubhostInfo {
  name: string;
  state: SubhostStateName;
  busy?: string;
  reason?: string;
  mode?: 'boot' | 'start';
  kind: 'disk' | 'overlay' | 'directory' | 'unknown';
  /** BASE of an overlay subhost: its read-only lower layer. */
  base?: string;
  /** Where the guest's writes land: the overlay's upper layer, the root folder, or the first disk image. */
  writable?: string;
  /** NAME.img, whose root/ and work/ are used (mounted on NAME/mnt while active). */
  imageFile?: string;
  /** Hibernated: what is kept for the resume, as found on the host. */
  kept?: { kind: string; id: string; detail?: string }[];
  hostname?: string;
  /** A Ganeti instance started by `subhost gnt-start`: the instance, its primary node and the mapping. */
  ganeti?: GntMapping;
  pid1?: number;
  supervisor?: number;
  startedAt?: string;
  uptimeSeconds?: number;
  disks: DiskInfo[];
  interfaces: InterfaceInfo[];
  cgroup?: string;
  /** The limits in force while active: where each was written and the value the kernel has now. */
  limits?: LimitInForce[];
  /** `status` only: the cgroup's usage snapshot, as `usage --json` prints it. */
  usage?: UsageRecord;
  warnings: string[];
  /** While running: the protections in force, read from PID 1 and its cgroup. */
  hardening?: HardeningInfo;
  error?: string;
}

/** Subhost names: folders of SUBHOST_ROOT with a config, and what has runtime state from this root. */
export function subhostNames(rt: Runtime): string[] {
  let dirs: string[] = [];
  try {
    dirs = readdirSync(rt.paths.root).filter((d) => NAME_RE.test(d) && existsSync(join(rt.paths.root, d, 'config')));
  } catch {
    /* no root yet */
  }
  // Runtime state is host-wide: only records booted from this root are this root's subhosts.
  const active = namesWithState(rt.paths).filter((n) => NAME_RE.test(n) && (readState(rt.paths, n)?.root ?? rt.paths.root) === rt.paths.root);
  return [...new Set([...dirs, ...active])].sort();
}

/** What the config says: host name, disks and interfaces (with the devices a record knows), and the layout. */
function fromConfig(info: SubhostInfo, cfg: SubhostConfig, layout: Layout, applied: StateRecord['applied'] = []): void {
  const byNode = new Map(applied.filter((a) => a.kind === 'partition').map((a) => [a.id.replace(/^disk:/, ''), a.result as PartitionResult | null]));
  info.kind = layout.kind;
  info.hostname = cfg.hostname;
  info.disks = cfg.disks.map((d) => {
    const node = deviceNode(d.dev, d.part);
    const r = byNode.get(node);
    return { node, image: d.image, partition: d.part, ...(r ? { device: r.dev, major: r.major, minor: r.minor } : {}) };
  });
  info.interfaces = cfg.bridges.map((b, i) => ({ host: hostIfname(info.name, i), inside: insideIfname(i), mac: b.mac, bridge: b.bridge, addresses: [] }));
  if (layout.base) info.base = layout.base;
  info.writable = layout.writable;
  if (layout.imageFile) info.imageFile = layout.imageFile;
}

function fromRecord(rec: StateRecord, layout: Layout, info: SubhostInfo): void {
  fromConfig(info, rec.config, layout, rec.applied);
  info.mode = rec.mode;
  info.warnings = [...rec.warnings];
  const cg = rec.applied.find((a) => a.kind === 'cgroup')?.result as CgroupResult | null | undefined;
  if (cg) info.cgroup = cg.path;
  if (cg?.limits && info.state !== 'stopped') info.limits = limitsInForce(cg.limits);
  if (info.state === 'running' && rec.pid1) {
    info.pid1 = rec.pid1.pid;
    const started = startToEpochMs(rec.pid1.start);
    info.startedAt = new Date(started).toISOString();
    info.uptimeSeconds = Math.max(0, Math.round((Date.now() - started) / 1000));
  }
  if (rec.supervisor) info.supervisor = rec.supervisor.pid;
  if (info.state === 'running' && rec.pid1) info.hardening = inspectHardening(rec, rec.pid1.pid);
}

/** What hibernation kept, found by looking (read-only), not taken from the record. */
async function keptOf(rt: Runtime, rec: StateRecord): Promise<SubhostInfo['kept']> {
  const found = await findResources(rt, rec.name, recordScope(rec, rt.paths));
  return found.map((r) => ({ kind: r.kind, id: r.id, ...(r.detail ? { detail: r.detail } : {}) }));
}

/** What is known of NAME without touching anything: its record, or else its config; usage: add its usage snapshot (status); withoutAddresses: the caller adds them (describeAll, for all at once). */
export async function describe(rt: Runtime, name: string, opts: { usage?: boolean; view?: HostView; withoutAddresses?: boolean } = {}): Promise<SubhostInfo> {
  const { record: rec, derived: d } = known(rt, name, opts.view);
  const info: SubhostInfo = { name, state: d.state, kind: 'unknown', disks: [], interfaces: [], warnings: [] };
  if (d.busy) info.busy = d.busy;
  if (d.reason) info.reason = d.reason;
  const ganeti = readMark(rt.paths, name);
  if (ganeti) info.ganeti = ganeti;
  const note = d.state === 'stopped' ? readFileOr(rt.paths.rebootLoopNote(name))?.trim() : undefined;
  if (note) info.reason = note;
  if (rec) {
    fromRecord(rec, recordedLayout(rec, rt.paths), info);
    if (info.state === 'hibernated') info.kept = await keptOf(rt, rec);
  } else {
    try {
      const cfg = await loadConfig(rt.paths, name, { env: {} });
      fromConfig(info, cfg, detectLayout(cfg, rt.paths));
    } catch (err) {
      info.error = (err as Error).message;
    }
  }
  if (opts.usage && info.state !== 'stopped') info.usage = subhostUsage(rt, name);
  if (!opts.withoutAddresses) await addAddresses([info]);
  return info;
}

/** The addresses inside each running subhost's namespace, on its interfaces: one dump per namespace, all in one call. */
async function addAddresses(infos: SubhostInfo[]): Promise<void> {
  const running = infos.filter((i) => i.state === 'running' && i.interfaces.length);
  if (!running.length) return;
  const byName = await listAddrsIn(running.map((i) => i.name));
  for (const info of running) {
    const addrs = byName.get(info.name);
    if (!addrs) continue; // the namespace went away meanwhile
    for (const i of info.interfaces) {
      const a = addrs.find((x) => x.ifname === i.inside);
      i.addresses = (a?.addr_info ?? []).filter((x) => x.scope !== 'link').map((x) => `${x.local}/${x.prefixlen}`);
    }
  }
}

export async function describeAll(rt: Runtime): Promise<SubhostInfo[]> {
  // One reading of the supervisors and mounts for all: a list of N stopped subhosts read them once, not N times.
  const view: HostView = {};
  const infos = await Promise.all(subhostNames(rt).map((n) => describe(rt, n, { view, withoutAddresses: true })));
  await addAddresses(infos);
  return infos;
}
