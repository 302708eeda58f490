import { readdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { SubhostError, UsageError } from '../../errors';
import { findV1Hierarchies } from '../../host/cgroup-v1';
import { Cgroup } from '../../host/cgroupfs';
import { CGROUP_PARENT, CGROUP_VM } from '../state/paths';
import type { Runtime } from '../state/runtime';
import { CgroupSet, subhostCgroupSet } from '../cgroups/subhost-cgroups';
import type { CgroupFiles } from './files';
import { CgroupReader, readUsage, sysfsLoopCheck, type UsageTarget } from './read';
import type { UsageRecord } from './record';

const PARENTS: [UsageRecord['kind'], string][] = [
  ['subhost', CGROUP_PARENT],
  ['vm', CGROUP_VM],
];

/**
 * Every subhost/NAME and vm/NAME cgroup on this host (found in cgroup2, which has them all).
 * `known` (the daemon's, kept from one sample to the next): the targets of the last call by
 * relative path, reused while their cgroup is there, so their paths are the same strings.
 */
export function usageTargets(cgroupMount: string, known?: Map<string, UsageTarget>): UsageTarget[] {
  const v1 = findV1Hierarchies();
  const out: UsageTarget[] = [];
  const found: [string, UsageTarget][] = [];
  for (const [kind, parent] of PARENTS) {
    let names: string[] = [];
    try {
      names = readdirSync(join(cgroupMount, parent), { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => d.name);
    } catch {
      /* no such parent yet */
    }
    // Plain concatenation: mount points are normalized and readdir names have no '/'; at hundreds of cgroups path.join shows.
    for (const name of names.sort()) {
      const rel = `${parent}/${name}`;
      const t = known?.get(rel) ?? { kind, name, set: new CgroupSet(new Cgroup(`${cgroupMount}/${rel}`), v1.map((h) => ({ controllers: h.controllers, cgroup: new Cgroup(`${h.mountPoint}/${rel}`) }))) };
      out.push(t);
      found.push([rel, t]);
    }
  }
  if (known) {
    known.clear();
    for (const [rel, t] of found) known.set(rel, t);
  }
  return out;
}

/**
 * `subhost usage [NAME...]`: one record per subhost and VM (only those named, if any). The daemon
 * passes its own `files` (kept open) and `targets` (kept from one sample to the next).
 */
export function collectUsage(rt: Runtime, names: string[] = [], files?: CgroupFiles, targets?: Map<string, UsageTarget>): UsageRecord[] {
  for (const n of names) if (n.includes('/') || n === '.' || n === '..') throw new UsageError(`usage: ${JSON.stringify(n)} is not a subhost or VM name`);
  let all = usageTargets(rt.cgroupMount, targets);
  if (names.length) {
    const missing = names.filter((n) => !all.some((t) => t.name === n));
    if (missing.length) throw new SubhostError(`usage: no subhost or VM named ${missing.join(', ')} is active on this host`);
    all = all.filter((t) => names.includes(t.name));
  }
  const host = hostname();
  const time = new Date().toISOString();
  const isLoop = sysfsLoopCheck();
  const reader = new CgroupReader(files);
  return all.map((t) => readUsage(t, host, time, isLoop, reader));
}

/** The usage of one subhost's cgroup, while it exists (for `status`). */
export function subhostUsage(rt: Runtime, name: string): UsageRecord | undefined {
  const set = subhostCgroupSet(rt.cgroupMount, name);
  if (!set.v2.exists()) return undefined;
  return readUsage({ kind: 'subhost', name, set }, hostname(), new Date().toISOString());
}
