import { readdirSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { Cgroup } from '../../host/cgroupfs';
import { findV1Hierarchies } from '../../host/cgroup-v1';
import { canonicalPath, identityOf } from '../../host/file-identity';
import { listLoopIdentities } from '../../host/loop-identity';
import { readMountinfo } from '../../host/mountinfo';
import { listNetns } from '../../host/netns';
import { readCmdline } from '../../host/proc';
import { loadConfig } from '../config';
import { isLocked } from '../../host/flock';
import { NAME_RE } from '../config/names';
import { CGROUP_MONITOR, CGROUP_PARENT } from '../state/paths';
import type { Runtime } from '../state/runtime';
import { deriveState, namesWithState, readState, type StateRecord } from '../state/records';
import { readIfalias } from '../../host/ip';
import { subhostNames } from './info';
import { isOurNetns, loopResource, type HostResource } from './resources';
import { listMonitorProcs } from '../lifecycle/supervisors';

/** Subhosts that hold their resources rightfully: a record that is not failed (running, hibernated, or a live command on it). */
export function activeRecords(rt: Runtime): Map<string, StateRecord> {
  const active = new Map<string, StateRecord>();
  for (const name of namesWithState(rt.paths)) {
    const rec = readState(rt.paths, name);
    if (rec && deriveState(rec).state !== 'failed') active.set(name, rec);
  }
  return active;
}

/** Image identity -> the subhost that has it, for every subhost we know of: records first, else configs. */
async function imageOwners(rt: Runtime): Promise<Map<string, string>> {
  const imageOwner = new Map<string, string>();
  for (const name of subhostNames(rt)) {
    let cfg = readState(rt.paths, name)?.config;
    if (!cfg) cfg = await loadConfig(rt.paths, name, { env: {} }).catch(() => undefined);
    if (!cfg) continue;
    for (const d of cfg.disks) {
      const id = identityOf(d.image);
      if (id && !imageOwner.has(id)) imageOwner.set(id, name);
    }
  }
  return imageOwner;
}

/** NAME when path is in SUBHOST_ROOT/NAME/ (and, with dirs, in one of those folders of it). */
function nameUnder(root: string, path: string, dirs?: string[]): string | undefined {
  const parts = relative(root, path).split('/');
  if (parts.length < 2 || parts[0] === '..' || !NAME_RE.test(parts[0])) return undefined;
  if (dirs && !dirs.includes(parts[1])) return undefined;
  return parts[0];
}

/** Everything subhost made that may be left over, without judging yet (see findLeftovers). */
async function scan(rt: Runtime, imageOwner: Map<string, string>): Promise<(HostResource & { bootId?: string })[]> {
  const found: (HostResource & { bootId?: string })[] = [];
  for (const name of namesWithState(rt.paths)) {
    const rec = readState(rt.paths, name);
    const d = deriveState(rec);
    if (!rec) found.push({ kind: 'state', subhost: name, id: rt.paths.runDir(name), detail: 'no readable state.json' });
    else if (d.state === 'failed') found.push({ kind: 'state', subhost: name, id: rt.paths.runDir(name), detail: `failed: ${d.reason}` });
  }
  // Only processes whose environment names a subhost: a stranger in the monitor cgroup is not judged.
  for (const p of listMonitorProcs(rt.cgroupMount)) {
    if (p.name) found.push({ kind: 'supervisor', subhost: p.name, id: String(p.pid), detail: readCmdline(p.pid).join(' '), proc: p, bootId: p.bootId });
  }
  const pids = new Set<number>();
  for (const base of [rt.cgroupMount, ...findV1Hierarchies().map((h) => h.mountPoint)]) {
    for (const c of new Cgroup(join(base, CGROUP_PARENT)).children()) {
      const name = basename(c.path);
      for (const pid of c.allProcs()) {
        if (!pids.has(pid)) found.push({ kind: 'process', subhost: name, id: String(pid), detail: readCmdline(pid).join(' ') || undefined });
        pids.add(pid);
      }
      found.push({ kind: 'cgroup', subhost: name, id: c.path });
    }
    // A supervisor's cgroup: what is in it was listed above, by the name its environment gives.
    for (const c of new Cgroup(join(base, CGROUP_MONITOR)).children()) found.push({ kind: 'cgroup', subhost: basename(c.path), id: c.path, detail: "its supervisor's" });
  }
  for (const m of readMountinfo()) {
    const name = nameUnder(rt.paths.root, m.mountPoint, ['live', 'mnt']);
    if (name) found.push({ kind: 'mount', subhost: name, id: m.mountPoint, detail: `${m.fsType} ${m.source}` });
  }
  for (const l of await listLoopIdentities()) {
    const name = nameUnder(rt.paths.root, l.backingFile) ?? imageOwner.get(l.identity);
    if (name) found.push(loopResource(name, l));
  }
  for (const ifname of readdirSync('/sys/class/net')) {
    const name = /^subhost:(.+)$/.exec(readIfalias(ifname) ?? '')?.[1];
    if (name) found.push({ kind: 'veth', subhost: name, id: ifname });
  }
  for (const ns of listNetns()) if (NAME_RE.test(ns)) found.push({ kind: 'netns', subhost: ns, id: ns });
  return found;
}

/**
 * What subhost made that no active subhost holds (SPEC §5): mounts on SUBHOST_ROOT/NAME/live
 * or mnt, loop devices of a subhost's images (or of files in its folder), links with the alias
 * `subhost:NAME`, network namespaces whose `lo` has that alias, cgroups under subhost/ (v2 and
 * v1) and the processes in them, supervisors (by SUBHOST_NAME) of another boot, and runtime
 * state that is failed or unreadable. The active subhosts are read before and after the scan,
 * and a subhost whose lock is held is left out, so that a subhost booting or stopping
 * meanwhile is not taken for a leftover.
 */
export async function findLeftovers(rt: Runtime, opts: { names?: string[] } = {}): Promise<HostResource[]> {
  const before = activeRecords(rt);
  const found = await scan(rt, await imageOwners(rt));
  const after = activeRecords(rt);
  const recordOf = (n: string) => after.get(n) ?? before.get(n);
  const active = [...before.values(), ...after.values()];
  const usesImage = (rec: StateRecord, r: HostResource) => rec.config.disks.some((d) => identityOf(d.image) === r.identity) || r.backingFile!.startsWith(`${canonicalPath(join(rec.root, rec.name))}/`);
  const left: HostResource[] = [];
  for (const { bootId, ...r } of found) {
    const rec = recordOf(r.subhost);
    let isLeft: boolean;
    switch (r.kind) {
      case 'supervisor':
        isLeft = !rec || (bootId !== rec.bootId && r.proc?.pid !== rec.supervisor?.pid && r.proc?.pid !== rec.op?.pid);
        break;
      case 'mount':
        isLeft = !rec || rec.root !== rt.paths.root;
        break;
      case 'loop':
        isLeft = !active.some((a) => usesImage(a, r));
        break;
      case 'state':
        isLeft = !after.has(r.subhost);
        break;
      default:
        isLeft = !rec;
    }
    if (isLeft && r.kind === 'netns') isLeft = await isOurNetns(r.subhost);
    if (isLeft && (!opts.names || opts.names.includes(r.subhost))) left.push(r);
  }
  // A command working on a subhost (a boot before its record, a stop or `_reap` finishing) holds its lock.
  const busy = new Set<string>();
  for (const n of new Set(left.map((r) => r.subhost))) if (NAME_RE.test(n) && (await isLocked(rt.paths.lockFile(n)))) busy.add(n);
  return left.filter((r) => !busy.has(r.subhost));
}
