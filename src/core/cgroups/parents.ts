import { findV1Hierarchies, type V1Hierarchy } from '../../host/cgroup-v1';
import { Cgroup } from '../../host/cgroupfs';
import { WANTED_CONTROLLERS } from './limits';
import { CgroupSet } from './subhost-cgroups';

/** What making a parent cgroup (subhost/ or vm/) did, so that it can be reported and undone. */
export interface ParentOutcome {
  /** Relative to every hierarchy: subhost, vm. */
  path: string;
  /** Directories made now (cgroup2 and v1), absolute. */
  created: string[];
  /** Controllers switched on now, per cgroup2 directory (the root, the parent). */
  enabled: { cgroup: string; controller: string }[];
  /** Wanted controllers the parent hands to its children (its cgroup.subtree_control). */
  controllers: string[];
  /** Wanted controllers cgroup2 offers that could not be switched on (a cgroup with processes of its own, in v2). */
  blocked: string[];
}

/**
 * The parent in cgroup2 and in each v1 hierarchy, with cpu, memory, pids and io enabled for
 * its children where cgroup2 offers them. Idempotent. cgroup2's no-internal-process rule: only
 * a cgroup without processes of its own (or the root) can hand controllers down.
 */
export function ensureParent(cgroupMount: string, path: string, v1: V1Hierarchy[] = findV1Hierarchies()): ParentOutcome {
  const set = CgroupSet.at(cgroupMount, path, v1);
  const created = set.all().filter((c) => !c.exists()).map((c) => c.path);
  set.create();
  const enabled: ParentOutcome['enabled'] = [];
  for (const cg of [new Cgroup(cgroupMount), set.v2]) {
    const before = cg.subtreeControl();
    const after = cg.enableControllers(WANTED_CONTROLLERS);
    for (const c of after) if (!before.includes(c)) enabled.push({ cgroup: cg.path, controller: c });
  }
  const controllers = set.v2.subtreeControl().filter((c) => WANTED_CONTROLLERS.includes(c));
  const offered = new Cgroup(cgroupMount).controllers().filter((c) => WANTED_CONTROLLERS.includes(c));
  return { path, created, enabled, controllers, blocked: offered.filter((c) => !controllers.includes(c)) };
}

/**
 * Undo ensureParent: remove the directories it made, if still empty. Controllers it switched on
 * stay on: harmless, and a subhost booted meanwhile may already have its limits in them.
 */
export function undoParent(o: ParentOutcome): void {
  for (const dir of o.created) {
    const cg = new Cgroup(dir);
    if (cg.exists() && !cg.children().length && !cg.populated()) cg.remove();
  }
}
