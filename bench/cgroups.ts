import { spawn } from 'node:child_process';
import { CGROUP_PARENT } from '../src/core/state/paths';
import { CgroupSet } from '../src/core/cgroups/subhost-cgroups';
import { findCgroup2Mount } from '../src/host/cgroupfs';

/**
 * Active cgroups for the benches of `usage` and the daemon, which read cgroup files only: each is
 * subhost/PREFIXNNN (v2, and v1 on a hybrid host) holding one sleep, without booting a subhost.
 */
export class SleepCgroups {
  private readonly mount = findCgroup2Mount();
  private readonly sets: CgroupSet[] = [];

  constructor(private readonly prefix: string) {}

  /** Make more until there are `count`. */
  growTo(count: number): void {
    while (this.sets.length < count) {
      const set = CgroupSet.at(this.mount, `${CGROUP_PARENT}/${this.prefix}${String(this.sets.length).padStart(3, '0')}`);
      set.create();
      const child = spawn('sleep', ['100000'], { stdio: 'ignore', detached: true });
      child.unref();
      set.addProc(child.pid!);
      this.sets.push(set);
    }
  }

  /** Kill the sleeps (every process in each cgroup) and remove the cgroups. */
  async remove(): Promise<void> {
    for (const set of this.sets) await set.remove();
  }
}
