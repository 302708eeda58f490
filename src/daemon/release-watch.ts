import { statSync, watch, type FSWatcher } from 'node:fs';
import { Cgroup } from '../host/cgroupfs';
import { isAlive } from '../host/proc';
import { CGROUP_PARENT } from '../core/paths';
import { release } from '../core/lifecycle/stop';
import type { Runtime } from '../core/runtime';
import { deriveState, namesWithState, readState, type StateRecord } from '../core/state';
import type { DaemonCounters } from './metrics';

export interface ReleaseWatchOptions {
  log: (line: string) => void;
  counters: DaemonCounters;
}

const RETRY_MS = 60_000;

interface Tracked {
  mtimeMs: number;
  record?: StateRecord;
  watcher?: FSWatcher;
}

/**
 * Why NAME is abandoned (its processes all ended and nothing will release it), or undefined.
 * Only `failed` subhosts qualify: a hibernated one is kept on purpose, and one whose command or
 * supervisor still runs will be released by it.
 */
export function abandoned(rec: StateRecord, cgroupMount: string): string | undefined {
  const d = deriveState(rec);
  if (d.state !== 'failed') return undefined;
  if (isAlive(rec.pid1) || isAlive(rec.supervisor) || isAlive(rec.attached) || isAlive(rec.op)) return undefined;
  if (new Cgroup(`${cgroupMount}/${CGROUP_PARENT}/${rec.name}`).populated()) return undefined;
  return d.reason;
}

/**
 * Releases abandoned subhosts of this SUBHOST_ROOT (records under SUBHOST_RUN whose root is ours:
 * another root's subhosts are not this daemon's), through `stop`'s release. Woken by inotify on
 * each subhost's cgroup.events (its last process ended) and checked on every tick for a record
 * that changed or is not plainly running.
 */
export class ReleaseWatcher {
  private readonly tracked = new Map<string, Tracked>();
  private readonly inFlight = new Map<string, Promise<void>>();
  /** When a release of NAME last failed: tried again only after RETRY_MS, not on every tick. */
  private readonly failedAt = new Map<string, number>();

  constructor(
    private readonly rt: Runtime,
    private readonly o: ReleaseWatchOptions,
  ) {}

  /** One look at SUBHOST_RUN: new and changed records read, the doubtful ones judged. */
  tick(all = false): void {
    const names = new Set(namesWithState(this.rt.paths));
    for (const [name, t] of this.tracked) if (!names.has(name)) this.forget(name, t);
    for (const name of names) {
      let mtimeMs = -1;
      try {
        mtimeMs = statSync(this.rt.paths.stateFile(name)).mtimeMs;
      } catch {
        /* a folder without a record: stop's business, not ours */
      }
      let t = this.tracked.get(name);
      const changed = !t || t.mtimeMs !== mtimeMs;
      if (!t) this.tracked.set(name, (t = { mtimeMs }));
      if (changed) {
        t.mtimeMs = mtimeMs;
        const rec = readState(this.rt.paths, name);
        t.record = rec && rec.root === this.rt.paths.root ? rec : undefined;
        if (t.record) this.watchCgroup(name, t);
      }
      // Plainly running (no command at work, PID 1 in its cgroup): the cgroup event will tell when it ends.
      const plain = t.record?.phase === 'running' && !t.record.op && t.watcher !== undefined;
      if (t.record && (all || changed || !plain)) this.judge(name);
    }
  }

  private watchCgroup(name: string, t: Tracked): void {
    if (t.watcher) return;
    try {
      t.watcher = watch(`${this.rt.cgroupMount}/${CGROUP_PARENT}/${name}/cgroup.events`, { persistent: false }, () => this.judge(name));
      t.watcher.on('error', () => {
        t.watcher?.close();
        t.watcher = undefined;
      });
    } catch {
      /* no cgroup (yet, or any more): judged on each tick instead */
    }
  }

  private forget(name: string, t: Tracked): void {
    t.watcher?.close();
    this.tracked.delete(name);
  }

  private judge(name: string): void {
    if (this.inFlight.has(name) || Date.now() - (this.failedAt.get(name) ?? -Infinity) < RETRY_MS) return;
    const rec = readState(this.rt.paths, name);
    if (!rec || rec.root !== this.rt.paths.root) return;
    const why = abandoned(rec, this.rt.cgroupMount);
    if (why === undefined) return;
    this.o.log(`release: ${name}: abandoned (${why.replace(/; `subhost stop.*$/, '')}); releasing it as stop would`);
    const p = release(this.rt, name)
      .then(() => {
        this.o.counters.releases += 1;
        this.failedAt.delete(name);
        this.o.log(`release: ${name}: released`);
      })
      .catch((err: Error) => {
        this.o.counters.errors += 1;
        this.failedAt.set(name, Date.now());
        this.o.log(`release: ${name}: failed: ${err.message}`);
      })
      .finally(() => this.inFlight.delete(name));
    this.inFlight.set(name, p);
  }

  /** Wait for releases under way (SIGTERM lets them finish: stop is restartable, but a whole one is better). */
  async drain(): Promise<void> {
    await Promise.all(this.inFlight.values());
  }

  close(): void {
    for (const [name, t] of this.tracked) this.forget(name, t);
  }
}
