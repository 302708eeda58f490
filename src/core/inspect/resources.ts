import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { asSubhostError, SubhostError } from '../../errors';
import { ipBatchForce, linkExists, readIfalias, waitLinksGone } from '../../host/ip';
import { detachLoops, loopInfo, type LoopDevice } from '../../host/loop';
import { canonicalPath, identityOf } from '../../host/file-identity';
import { claimsOfOthers, loopHeldElsewhere, recordedLoops, type Claims } from '../storage/claims';
import { imagesOf, recordedLayout } from '../storage/layout';
import type { Paths } from '../state/paths';
import { loopsBackedBy } from '../../host/loop-identity';
import { mountsUnder, readMountinfo, readMountsAt, type MountEntry } from '../../host/mountinfo';
import { umount } from '../../host/mount';
import { dropNetns, netnsBound, netnsExists, netnsLoAlias } from '../../host/netns';
import type { ProcRef } from '../../host/proc';
import type { Runtime } from '../state/runtime';
import { removeRuntimeDir, type StateRecord } from '../state/records';
import { monitorCgroupSet, subhostCgroupSet } from '../cgroups/subhost-cgroups';
import { linkAlias } from '../config/names';
import { killProcs, listMonitorProcs, removeMonitor } from '../lifecycle/supervisors';

export type ResourceKind = 'supervisor' | 'process' | 'mount' | 'loop' | 'veth' | 'netns' | 'cgroup' | 'state' | 'bootstrap';

/** Something on the host that belongs to a subhost, found by looking (not from its records). */
export interface HostResource {
  kind: ResourceKind;
  subhost: string;
  /** PID, mount point, /dev/loopN, interface, netns, cgroup path or runtime dir. */
  id: string;
  detail?: string;
  /** For a supervisor: the process with its start time, so a reused PID is never killed. */
  proc?: ProcRef;
  /** For a loop device: its backing file, and that file's identity. */
  backingFile?: string;
  identity?: string;
}

/** Where to look for NAME's resources: what its record or config says, and its folder. */
export interface Scope {
  /** The SUBHOST_ROOTs its folder may be in (its record's, which may differ from --root). */
  roots: string[];
  images: string[];
  /** Never killed: the caller itself, when `_reap` (exec'd in the supervisor's place) releases. */
  spare?: number[];
  /** The record says subhost made netns NAME: it is ours without asking for the mark on its lo. */
  ourNetns?: boolean;
  /**
   * The record has NAME's namespace made and its veths not (boot's veths step begun, perhaps, when it
   * was killed): a host link named as boot names them with no alias yet is NAME's, as the step's own
   * undo counts it (boot refused to start while one existed). Its mark is a second request.
   */
  unmarkedLinks?: boolean;
  /** Loop devices NAME's record says it attached: its own, when their backing file is one of its images. */
  recordedLoops?: string[];
  /**
   * PIDs in the monitor cgroup that an earlier pass of this command (under NAME's lock) found to be
   * another subhost's: stop's second pass does not read their environments again. Even a PID reused
   * since cannot be NAME's supervisor: only a boot of NAME starts one, and it waits for the lock.
   */
  othersInMonitor?: Set<number>;
  /**
   * A release's final scan: the loops its first scan found (with recordedLoops, all it knows of).
   * Under NAME's lock nothing of ours attaches NAME's images meanwhile, so when none of these is
   * attached any more, the other loops are not listed (~35 µs a device: 14 ms with 200 subhosts
   * running); when one is, every loop is, as in a first scan.
   */
  foundLoops?: string[];
}

/** Where a record says NAME's resources are: its root, its images, the loops and the netns it made. */
export function recordScope(rec: StateRecord, paths: Paths): Scope {
  const made = new Set(rec.applied.map((a) => a.kind));
  return {
    roots: [rec.root],
    images: imagesOf(rec.config, recordedLayout(rec, paths)),
    // Recorded as made by us: no need to ask the namespace for our mark (one process less).
    ourNetns: made.has('netns'),
    unmarkedLinks: made.has('netns') && !made.has('veths'),
    recordedLoops: recordedLoops(rec),
  };
}

/**
 * The folders subhost mounts on: `live`, and `mnt` (the image of an overlay subhost), in the order
 * to unmount them. Only these: a filesystem an operator mounted on NAME's folder itself (holding
 * its images), or inside root/ of a directory subhost, is not ours.
 */
export function subhostMountDirs(root: string, name: string): string[] {
  return [join(root, name, 'live'), join(root, name, 'mnt')];
}

/**
 * The link names boot gives NAME's host ends (hostIfname: NAME0, NAME1, ...), from a listing
 * (pure): only these are asked for their alias, so the cost does not grow with other subhosts' links.
 */
export function nameCandidates(links: readonly string[], name: string): string[] {
  return links.filter((l) => l.startsWith(name) && /^\d+$/.test(l.slice(name.length)));
}

/**
 * Host interfaces of NAME: those named as boot names them that carry our alias. A link of that name
 * without it is someone else's and is left alone, unless unmarked (Scope.unmarkedLinks) says boot
 * was making NAME's veths: boot marks a pair right after making it, in a second request.
 */
export function subhostLinks(name: string, unmarked = false): string[] {
  let links: string[];
  try {
    links = readdirSync('/sys/class/net');
  } catch {
    return [];
  }
  return nameCandidates(links, name).filter((l) => {
    const alias = readIfalias(l);
    return alias === linkAlias(name) || (unmarked && alias === '');
  });
}

/**
 * The network namespace NAME, if subhost made it: its `lo` carries our alias. A file of that name
 * bound to no namespace is what a boot killed inside the addon's addNetns leaves (it binds the
 * file last, once lo is marked): it holds nothing, and goes as NAME's.
 */
export async function isOurNetns(name: string): Promise<boolean> {
  if (!netnsBound(name)) return true;
  return (await netnsLoAlias(name)) === linkAlias(name);
}

/** Everything of NAME that exists on the host now, whatever the records say. */
export async function findResources(rt: Runtime, name: string, scope: Scope): Promise<HostResource[]> {
  const found: HostResource[] = [];
  const roots = [...new Set(scope.roots.map(canonicalPath))];
  // Loops by their backing file's identity (a symlinked or hard-linked image is the same image) or a path under NAME's folder,
  // walked on the pool while the rest is read here.
  const images = [...new Set(scope.images.map(identityOf).filter((i) => i !== undefined))];
  const folders = roots.map((r) => `${canonicalPath(join(r, name))}/`);
  const recorded = new Set(scope.recordedLoops ?? []);
  const known = scope.foundLoops && [...scope.foundLoops, ...recorded];
  const walk = known && !known.some((dev) => loopInfo(dev) !== undefined) ? Promise.resolve([]) : loopsBackedBy(images, folders);
  // Awaited below; should a read here throw first, the walk's failure is not an unhandled one.
  walk.catch(() => undefined);
  const spare = new Set([process.pid, ...(scope.spare ?? [])]);
  for (const s of listMonitorProcs(rt.cgroupMount, name, (scope.othersInMonitor ??= new Set()))) {
    if (s.name === name && !spare.has(s.pid)) found.push({ kind: 'supervisor', subhost: name, id: String(s.pid), detail: `boot ${s.bootId ?? '?'}`, proc: { pid: s.pid, start: s.start } });
  }
  const set = subhostCgroupSet(rt.cgroupMount, name);
  const pids = new Set(set.existing().flatMap((c) => c.allProcs()));
  for (const pid of pids) found.push({ kind: 'process', subhost: name, id: String(pid), detail: `in the cgroups of ${name}` });
  const mountDirs = roots.flatMap((r) => subhostMountDirs(r, name));
  const mounts = readMountsAt(mountDirs);
  for (const dir of mountDirs) {
    for (const m of mountsUnder(mounts, dir)) found.push({ kind: 'mount', subhost: name, id: m.mountPoint, detail: `${m.fsType} ${m.source}` });
  }
  // A loop not in NAME's record is NAME's only when no other subhost claims it and nothing else mounts it.
  let claims: Claims | undefined;
  let all: MountEntry[] | undefined;
  for (const l of await walk) {
    if (!recorded.has(l.dev) && loopHeldElsewhere(l, (claims ??= claimsOfOthers(rt.paths, name)), mountDirs, (all ??= readMountinfo()))) continue;
    found.push(loopResource(name, l));
  }
  for (const link of subhostLinks(name, scope.unmarkedLinks)) found.push({ kind: 'veth', subhost: name, id: link });
  if (netnsExists(name) && (scope.ourNetns || (await isOurNetns(name)))) found.push({ kind: 'netns', subhost: name, id: name });
  for (const c of set.existing()) found.push({ kind: 'cgroup', subhost: name, id: c.path });
  for (const c of monitorCgroupSet(rt.cgroupMount, name).existing()) found.push({ kind: 'cgroup', subhost: name, id: c.path, detail: 'its supervisor\'s' });
  return found;
}

export function loopResource(name: string, l: Pick<LoopDevice, 'dev' | 'backingFile' | 'offset'> & { identity?: string }): HostResource {
  return { kind: 'loop', subhost: name, id: l.dev, detail: `${l.backingFile}${l.offset ? ` at offset ${l.offset}` : ''}`, backingFile: l.backingFile, identity: l.identity };
}

/** How long a veth may take to go with its peer's namespace before it is deleted by itself (the killed processes' end and the kernel's cleanup). */
const NETNS_FREED_MS = 1000;

/** Release found resources in the safe order: processes, mounts, loops, links, netns, cgroups, state. */
export async function releaseResources(rt: Runtime, name: string, found: HostResource[]): Promise<SubhostError[]> {
  const errors: SubhostError[] = [];
  const attempt = async (what: string, fn: () => Promise<void> | void) => {
    try {
      await fn();
    } catch (err) {
      errors.push(asSubhostError(err).withContext(what));
    }
  };
  const of = (k: ResourceKind) => found.filter((r) => r.kind === k);
  const supervisors = of('supervisor').flatMap((s) => (s.proc ? [s.proc] : []));
  if (supervisors.length) {
    await attempt(`killing the supervisor of ${name}`, async () => {
      const left = await killProcs(supervisors);
      if (left.length) throw new SubhostError(`process ${left.map((l) => l.pid).join(', ')} did not die after SIGKILL`);
    });
  }
  const set = subhostCgroupSet(rt.cgroupMount, name);
  if (of('process').length) {
    await attempt(`killing the processes of ${name}`, () => set.killAll());
  }
  // The disks (mounts in the order found: deepest first under live, then mnt; then the loops)
  // beside the network (links and the namespace in one ip process): the kernel waits in both.
  const disks = async () => {
    for (const m of of('mount')) {
      await attempt(`unmounting ${m.id}`, async () => {
        try {
          await umount(m.id);
        } catch {
          await umount(m.id, { lazy: true });
        }
      });
    }
    const loops = of('loop').map((l) => l.id);
    if (loops.length) await attempt(`detaching ${loops.join(', ')}`, () => detachLoops(loops));
  };
  const network = async () => {
    let links = of('veth').map((v) => v.id);
    if (of('netns').length) {
      let dropped = false;
      await attempt(`deleting network namespace ${name}`, async () => {
        await dropNetns(name);
        dropped = true;
      });
      // The veths' peers are inside: the kernel deletes the pairs as it frees the namespace (once
      // NAME's processes are gone), sparing this command `ip link del`'s wait for an RCU grace period
      // (~30 ms against ~10). One kept by a namespace that something else holds is deleted below.
      if (dropped) links = await waitLinksGone(links, NETNS_FREED_MS);
    }
    if (!links.length) return;
    await attempt(`deleting ${links.join(', ')}`, async () => {
      const stderr = await ipBatchForce(links.map((l) => `link del ${l}`));
      const still = links.filter(linkExists);
      if (still.length) throw new Error(`${still.join(', ')} still there: ${stderr.trim() || 'no reason given'}`);
    });
  };
  await Promise.all([disks(), network()]);
  if (of('cgroup').length) {
    await attempt(`removing the cgroups of ${name}`, async () => {
      await set.remove();
      await removeMonitor(rt.cgroupMount, name);
    });
  }
  if (of('state').length) removeRuntimeDir(rt.paths, name);
  return errors;
}
