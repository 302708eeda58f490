import { watch, type FSWatcher } from 'node:fs';
import { isAlive, type ProcRef } from '../../host/proc';

/** How often PID 1 is looked at besides the cgroup's events: a safety net, never the usual way. */
export const FALLBACK_POLL_MS = 50;
/** Without a watch (no cgroup.events to watch), polled this often instead. */
export const PLAIN_POLL_MS = 5;

/**
 * Resolves once PID 1 has ended (true) or the deadline has passed (false). Woken by inotify on the
 * subhost's cgroup.events (it changes when the guest's last process leaves: PID 1, then unshare
 * and the console copier, within a few ms), not by a sleep that would round the wait up to its step.
 */
export function waitForPid1End(pid1: ProcRef, cgroupEvents: string, deadline: number): Promise<boolean> {
  return new Promise((resolve) => {
    let watcher: FSWatcher | undefined;
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    const finish = (ended: boolean) => {
      if (done) return;
      done = true;
      watcher?.close();
      if (timer) clearTimeout(timer);
      resolve(ended);
    };
    const check = (): boolean => {
      if (!isAlive(pid1)) finish(true);
      else if (Date.now() >= deadline) finish(false);
      return done;
    };
    try {
      watcher = watch(cgroupEvents, { persistent: true }, () => check());
      watcher.on('error', () => {
        watcher?.close();
        watcher = undefined;
      });
    } catch {
      watcher = undefined; // no cgroup.events (not cgroup v2 here, or gone): polled instead
    }
    // Looked at once the watch is in place, so an end between the two is never missed.
    const tick = () => {
      if (check()) return;
      timer = setTimeout(tick, Math.max(0, Math.min(watcher ? FALLBACK_POLL_MS : PLAIN_POLL_MS, deadline - Date.now())));
    };
    tick();
  });
}
