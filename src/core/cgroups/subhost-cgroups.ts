import { join } from 'node:path';
import { Cgroup } from '../../host/cgroupfs';
import { findV1Hierarchies, type V1Controller } from '../../host/cgroup-v1';
import { SubhostError } from '../../errors';
import { DEVICES_LEAF } from './devices';
import { CGROUP_MONITOR, CGROUP_PARENT } from '../state/paths';

/**
 * Where a subhost's processes go: its cgroup v2 directory, and on a hybrid host (v1
 * controllers beside cgroup2, like this kind of machine) the same path in each v1 hierarchy
 * whose controllers subhost uses, as LXC does. The v2 one is authoritative: cgroup.kill,
 * cgroup.events and the cgroup namespace are there.
 */
export class CgroupSet {
  constructor(
    readonly v2: Cgroup,
    readonly v1: { controllers: V1Controller[]; cgroup: Cgroup }[],
  ) {}

  /** relPath is relative to every hierarchy's root: subhost/NAME, vm/NAME, subhost.monitor. */
  static at(cgroupMount: string, relPath: string, v1 = findV1Hierarchies()): CgroupSet {
    return new CgroupSet(
      new Cgroup(join(cgroupMount, relPath)),
      v1.map((h) => ({ controllers: h.controllers, cgroup: new Cgroup(join(h.mountPoint, relPath)) })),
    );
  }

  all(): Cgroup[] {
    return [this.v2, ...this.v1.map((x) => x.cgroup)];
  }

  /** The v1 cgroup that has this controller, if the host keeps it on v1. */
  v1For(controller: V1Controller): Cgroup | undefined {
    return this.v1.find((x) => x.controllers.includes(controller))?.cgroup;
  }

  /**
   * Where processes go in each hierarchy: the cgroup itself, except in cgroup2 and the v1 devices
   * hierarchy once the devices step made the leaf there (see DEVICES_LEAF).
   */
  targets(): Cgroup[] {
    const devices = this.v1For('devices');
    return this.all().map((c) => ((c === this.v2 || c === devices) && c.child(DEVICES_LEAF).exists() ? c.child(DEVICES_LEAF) : c));
  }

  /** cgroup.procs of every hierarchy: writing a PID to each moves the process in. */
  procsFiles(): string[] {
    return this.targets().map((c) => c.file('cgroup.procs'));
  }

  create(): void {
    for (const c of this.all()) c.create();
  }

  existing(): Cgroup[] {
    return this.all().filter((c) => c.exists());
  }

  addProc(pid: number): void {
    for (const c of this.targets()) c.addProc(pid);
  }

  /** SIGKILL everything in every hierarchy (cgroup.kill in v2 sees all of it) and wait until empty. */
  async killAll(timeoutMs = 5000): Promise<void> {
    const existing = this.existing();
    for (const c of existing) c.kill();
    for (const c of existing) {
      if (!(await c.waitEmpty(timeoutMs))) throw new SubhostError(`processes in ${c.path} did not die after SIGKILL`);
    }
  }

  /** Kill what is inside, then remove every directory. */
  async remove(): Promise<void> {
    await this.killAll();
    for (const c of this.existing()) c.remove();
  }
}

/** The cgroups of subhost NAME: subhost/NAME in cgroup2 and each v1 hierarchy subhost uses. */
export function subhostCgroupSet(cgroupMount: string, name: string): CgroupSet {
  return CgroupSet.at(cgroupMount, `${CGROUP_PARENT}/${name}`);
}

/** Where NAME's supervisor lives (subhost.monitor/NAME), or with no name the monitor cgroup itself. */
export function monitorCgroupSet(cgroupMount: string, name?: string): CgroupSet {
  return CgroupSet.at(cgroupMount, name === undefined ? CGROUP_MONITOR : `${CGROUP_MONITOR}/${name}`);
}
