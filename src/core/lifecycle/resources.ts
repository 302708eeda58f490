import { readdirSync } from 'node:fs';
import { asSubhostError, type SubhostError } from '../../errors';
import { ipBatchForce } from '../../host/ip';
import { detachLoop, loopsBackedBy } from '../../host/loop';
import { mountsUnder, readMountinfo } from '../../host/mountinfo';
import { umount } from '../../host/mount';
import { deleteNetns, netnsExists } from '../../host/netns';
import { hostIfname } from '../names';
import { CGROUP_PARENT } from '../paths';
import type { Runtime } from '../runtime';
import { removeRuntimeDir } from '../state';
import { removeCgroupSet } from '../steps/cgroup';
import { CgroupSet } from '../subhost-cgroups';
import { linkAlias, readIfalias } from '../steps/network';

export type ResourceKind = 'process' | 'mount' | 'loop' | 'veth' | 'netns' | 'cgroup' | 'state';

/** Something on the host that belongs to a subhost, found by looking (not from its records). */
export interface HostResource {
  kind: ResourceKind;
  subhost: string;
  /** Mount point, /dev/loopN, interface, netns or cgroup path. */
  id: string;
  detail?: string;
}

export function subhostCgroupSet(rt: Runtime, name: string): CgroupSet {
  return CgroupSet.at(rt.cgroupMount, `${CGROUP_PARENT}/${name}`);
}

/** Host interfaces of NAME: those with our alias, or with our exact names and no alias yet. */
export function subhostLinks(name: string, interfaceCount: number): string[] {
  let links: string[];
  try {
    links = readdirSync('/sys/class/net');
  } catch {
    return [];
  }
  const expected = new Set(Array.from({ length: interfaceCount }, (_, i) => hostIfname(name, i)));
  return links.filter((l) => {
    const alias = readIfalias(l);
    return alias === linkAlias(name) || (alias === '' && expected.has(l));
  });
}

/** Everything of NAME that exists on the host now, whatever the records say. */
export function findResources(rt: Runtime, name: string, images: string[], interfaceCount: number): HostResource[] {
  const found: HostResource[] = [];
  const set = subhostCgroupSet(rt, name);
  const pids = new Set(set.existing().flatMap((c) => c.allProcs()));
  for (const pid of pids) found.push({ kind: 'process', subhost: name, id: String(pid), detail: `in the cgroups of ${name}` });
  // live before mnt: an overlay on live may have its upper layer in NAME.img on mnt. Nothing
  // else under the subhost folder is ours (root/ of a directory subhost may hold the operator's mounts).
  const mounts = readMountinfo();
  for (const dir of [rt.paths.live(name), rt.paths.mnt(name)]) {
    for (const m of mountsUnder(mounts, dir)) found.push({ kind: 'mount', subhost: name, id: m.mountPoint, detail: `${m.fsType} ${m.source}` });
  }
  for (const l of loopsBackedBy(images)) found.push({ kind: 'loop', subhost: name, id: l.dev, detail: `${l.backingFile}${l.offset ? ` at offset ${l.offset}` : ''}` });
  for (const link of subhostLinks(name, interfaceCount)) found.push({ kind: 'veth', subhost: name, id: link });
  if (netnsExists(name)) found.push({ kind: 'netns', subhost: name, id: name });
  for (const c of set.existing()) found.push({ kind: 'cgroup', subhost: name, id: c.path });
  return found;
}

/** Release found resources in the safe order: processes, mounts, loops, links, netns, cgroup. */
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
  const set = subhostCgroupSet(rt, name);
  if (of('process').length) {
    await attempt(`killing the processes of ${name}`, async () => {
      set.v2.kill();
      for (const c of set.existing()) await c.waitEmpty(5000);
    });
  }
  for (const m of of('mount')) {
    await attempt(`unmounting ${m.id}`, async () => {
      try {
        await umount(m.id);
      } catch {
        await umount(m.id, { lazy: true });
      }
    });
  }
  for (const l of of('loop')) await attempt(`detaching ${l.id}`, () => detachLoop(l.id));
  const links = of('veth').map((v) => v.id);
  if (links.length) {
    await attempt(`deleting ${links.join(', ')}`, async () => {
      const stderr = await ipBatchForce(links.map((l) => `link del ${l}`));
      if (subhostLinks(name, 0).length) throw new Error(stderr.trim() || 'still there');
    });
  }
  if (of('netns').length) await attempt(`deleting network namespace ${name}`, () => deleteNetns(name));
  if (of('cgroup').length) await attempt(`removing the cgroups of ${name}`, () => removeCgroupSet(set));
  if (of('state').length) removeRuntimeDir(rt.paths, name);
  return errors;
}
