import { watch, type FSWatcher } from 'node:fs';
import { hostname } from 'node:os';
import { findV1Hierarchies, type V1Hierarchy } from '../host/cgroup-v1';
import { Cgroup } from '../host/cgroupfs';
import { lastPid, listPids } from '../host/proc';
import { watchExecs, type ExecWatch } from '../host/proc-connector';
import { CGROUP_VM } from '../core/state/paths';
import { executePlan } from '../core/plan/executor';
import { CgroupSet } from '../core/cgroups/subhost-cgroups';
import { buildSetupPlan, decideVm, type MoveVmParams } from '../core/vms/setup-plan';
import { SETUP_HANDLERS, type MoveVmResult, type SetupContext } from '../core/vms/setup-steps';
import { findVmProcesses, isVmProcess, type VmProcess } from '../core/vms/vm-process';
import type { DaemonCounters } from './metrics';

export interface VmWatchOptions {
  cgroupMount: string;
  /** Only VMs whose -name starts with this are moved, and only their vm/ cgroups removed (tests share a host). */
  namePrefix?: string;
  log: (line: string) => void;
  counters: DaemonCounters;
}

/** A forked child execs qemu a moment after it appears: new PIDs are looked at on this many scans. */
const YOUNG_SCANS = 2;

/** How new processes are found: the kernel's exec events, or a scan of /proc on each tick. */
export type NewProcesses = 'connector' | 'scan';

/**
 * Puts VM processes that start while the daemon runs into vm/NAME, with the plan and step handlers
 * of `cgroups setup` (the same matching, the same moves and undo), and removes vm/NAME cgroups
 * whose VM ended. New processes come from the netlink proc connector (each exec's PID; only those
 * are read, and a lost batch costs one full scan), or where it cannot be had from a scan of /proc
 * that reads only PIDs it has not seen (no readdir while /proc/loadavg's last PID stays the same)
 * plus a full one now and then for a process that exec'd qemu long after it started.
 */
export class VmWatcher {
  /** Which way new processes are found (start() decides). */
  mode: NewProcesses = 'scan';
  private execs: ExecWatch | undefined;
  /** Exec'd PIDs not looked at yet, and whether every PID is to be (the first look, an overrun). */
  private pending = new Set<number>();
  private pendingAll = false;
  private seen = new Set<number>();
  private young = new Map<number, number>();
  /** /proc/loadavg's last PID at the last listing of /proc. */
  private lastPid: number | undefined;
  private readonly v1: V1Hierarchy[] = findV1Hierarchies();
  private readonly watchers = new Map<string, FSWatcher>();
  /** vm/ cgroups found empty by the last sweep: removed if still empty on the next. */
  private emptyLast = new Set<string>();
  private busy = false;

  constructor(private readonly o: VmWatchOptions) {}

  private ours(name: string | undefined): boolean {
    return name !== undefined && (!this.o.namePrefix || name.startsWith(this.o.namePrefix));
  }

  /** PIDs new since the last scan, and young ones again (they may have exec'd since). */
  private candidates(all: boolean): number[] {
    // Read before the listing: a fork after it changes the last PID, and the next scan lists again.
    const last = lastPid();
    if (!all && last !== undefined && last === this.lastPid) {
      // No PID allocated since the last listing: no new process, only the young ones to look at again.
      const out = [...this.young.keys()];
      this.age();
      return out;
    }
    this.lastPid = last;
    const pids = listPids();
    const now = new Set(pids);
    const out: number[] = [];
    for (const pid of pids) {
      if (all || !this.seen.has(pid)) {
        out.push(pid);
        if (!this.seen.has(pid)) this.young.set(pid, YOUNG_SCANS);
      } else if (this.young.has(pid)) out.push(pid);
    }
    this.age(now);
    this.seen = now;
    return out;
  }

  /** One scan fewer for each young PID; those gone from `now` (when listed) or looked at enough are dropped. */
  private age(now?: Set<number>): void {
    for (const [pid, left] of this.young) {
      if ((now && !now.has(pid)) || left <= 1) this.young.delete(pid);
      else this.young.set(pid, left - 1);
    }
  }

  /**
   * The proc connector, unless `scanOnly` or it cannot be had; then every running process is
   * looked at once (subscribed first: a VM started meanwhile is in one or the other). Returns the log line.
   */
  async start(scanOnly = false): Promise<string> {
    let why = 'SUBHOST_DAEMON_PROC_SCAN=1';
    if (!scanOnly) {
      try {
        // Only a VM executable (or comm) is read further: most execs are of other programs.
        this.execs = await watchExecs((execs, overrun) => this.onExecs(execs.filter((e) => isVmProcess(e.exe, e.comm)).map((e) => e.pid), overrun));
        this.mode = 'connector';
      } catch (err) {
        why = (err as Error).message;
      }
    }
    if (this.mode === 'connector') {
      this.pendingAll = true;
      await this.drain();
      return 'vm: new processes from the netlink proc connector (exec events)';
    }
    await this.scan(true);
    return `vm: new processes by a /proc scan every tick (no proc connector: ${why})`;
  }

  private onExecs(pids: number[], overrun: boolean): void {
    for (const pid of pids) this.pending.add(pid);
    if (overrun && !this.pendingAll) {
      this.pendingAll = true;
      this.o.log('vm: the proc connector lost events (receive buffer overrun): one scan of every PID');
    }
    void this.drain();
  }

  /** Looks at pending PIDs until none is left; one at a time (a batch that comes meanwhile waits its turn). */
  private async drain(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      while (this.pending.size || this.pendingAll) {
        const pids = this.pendingAll ? listPids() : [...this.pending];
        this.pending.clear();
        this.pendingAll = false;
        await this.look(pids);
      }
    } finally {
      this.busy = false;
    }
  }

  /** One scan: `all` reads every PID (the first scan, and now and then, for a process that exec'd qemu late). */
  async scan(all = false): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      await this.look(this.candidates(all));
    } finally {
      this.busy = false;
    }
  }

  private async look(pids: number[]): Promise<void> {
    if (!pids.length) return;
    // By executable as well as comm: libvirt's and Ganeti's -name ...,process=P renames the process at once.
    const vms = findVmProcesses(pids).filter((vm) => this.ours(vm.name) && decideVm(vm, this.v1).action === 'move');
    if (vms.length) await this.place(vms);
  }

  private async place(vms: VmProcess[]): Promise<void> {
    const offered = new Cgroup(this.o.cgroupMount).controllers();
    const { plan } = buildSetupPlan({ host: hostname(), cgroupMount: this.o.cgroupMount, v1: this.v1, offered, vms });
    const ctx: SetupContext = { results: new Map(), cgroupMount: this.o.cgroupMount, v1: this.v1 };
    try {
      const applied = await executePlan(plan, SETUP_HANDLERS, ctx);
      for (const a of applied) {
        if (a.kind !== 'move-vm') continue;
        const p = a.params as MoveVmParams;
        if (!(a.result as MoveVmResult).moved) continue;
        this.o.counters.vmMoves += 1;
        this.o.log(`vm: moved ${p.exe} PID ${p.pid} (-name ${p.name}) from ${p.from.v2} into ${p.path}`);
        this.watchEmpty(p.name);
      }
    } catch (err) {
      this.o.counters.errors += 1;
      this.o.log(`vm: placing ${vms.map((v) => `PID ${v.pid} (-name ${v.name})`).join(', ')} failed: ${(err as Error).message}`);
    }
  }

  /** inotify on vm/NAME/cgroup.events: it changes when the cgroup's last process ends. */
  private watchEmpty(name: string): void {
    if (this.watchers.has(name)) return;
    const cg = new Cgroup(`${this.o.cgroupMount}/${CGROUP_VM}/${name}`);
    try {
      const w = watch(`${cg.path}/cgroup.events`, { persistent: false }, () => {
        if (cg.exists() && !cg.populated()) this.remove(name);
      });
      w.on('error', () => this.unwatch(name));
      this.watchers.set(name, w);
    } catch {
      /* gone already */
    }
  }

  private unwatch(name: string): void {
    this.watchers.get(name)?.close();
    this.watchers.delete(name);
  }

  private remove(name: string): void {
    this.unwatch(name);
    try {
      // v1 hierarchies first: they hold no process once cgroup2 says empty, and cgroup2 is what `usage` lists.
      for (const c of CgroupSet.at(this.o.cgroupMount, `${CGROUP_VM}/${name}`, this.v1).existing().reverse()) c.remove();
      this.o.counters.cgroupsRemoved += 1;
      this.o.log(`vm: removed empty cgroup ${CGROUP_VM}/${name}`);
    } catch (err) {
      // A VM of that name moved in meanwhile (cgroups setup, or a restart): it stays.
      this.o.log(`vm: keeping ${CGROUP_VM}/${name}: ${(err as Error).message}`);
      if (new Cgroup(`${this.o.cgroupMount}/${CGROUP_VM}/${name}`).exists()) this.watchEmpty(name);
    }
  }

  /** vm/ cgroups: watch the populated ones, remove those empty on two sweeps in a row (one may be just made). */
  sweep(): void {
    const empty = new Set<string>();
    for (const c of new Cgroup(`${this.o.cgroupMount}/${CGROUP_VM}`).children()) {
      const name = c.path.slice(c.path.lastIndexOf('/') + 1);
      if (!this.ours(name)) continue;
      if (c.populated()) this.watchEmpty(name);
      else if (this.emptyLast.has(name)) this.remove(name);
      else empty.add(name);
    }
    this.emptyLast = empty;
  }

  close(): void {
    this.execs?.close();
    this.execs = undefined;
    for (const name of [...this.watchers.keys()]) this.unwatch(name);
  }
}
