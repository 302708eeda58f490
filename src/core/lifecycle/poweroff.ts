import { SubhostError } from '../../errors';
import { catchesSignal, isAlive, signalProc } from '../../host/proc';
import { checkName } from '../config/names';
import type { Runtime } from '../state/runtime';
import { lockSubhost } from '../state/lock';
import { crashPoint } from '../../test-hooks';
import { known } from '../state/active';
import { waitForPid1End } from './pid1-end';
import { CGROUP_PARENT } from '../state/paths';
import { markStopping, refuseOtherRoot, release, type StopOutcome } from './stop';
import { timed } from '../plan/timings';

export interface PoweroffOutcome extends StopOutcome {
  /** True when the guest did not finish in time and was killed. */
  killed: boolean;
  /** PID 1 does not handle the power-off signal (a shell reading a pipe ignores SIGHUP), so it was killed at once. */
  ignored?: boolean;
  alreadyStopped: boolean;
}

/**
 * `subhost poweroff NAME`: ask PID 1 to power off as the guest's own busybox poweroff does
 * (SIGUSR2, which subhost-init handles like a write to /run/initctl), wait, then release.
 */
export async function poweroff(rt: Runtime, name: string, timeoutSeconds: number): Promise<PoweroffOutcome> {
  checkName(name);
  const lock = await timed('lock subhost', () => lockSubhost(rt, name, 'poweroff'));
  try {
    const { record, derived } = known(rt, name);
    if (derived.state === 'failed') throw new SubhostError(`subhost ${name} is failed: ${derived.reason}`);
    if (!record || derived.state === 'stopped') return { released: false, killed: false, alreadyStopped: true };
    refuseOtherRoot(rt, record);
    let ignored = false;
    let waited: Promise<boolean> | undefined;
    const pid1 = record.pid1;
    if (pid1 && isAlive(pid1)) {
      // Marked as stop marks it (phase stopping, this process at work): release then writes it no more.
      await markStopping(rt, record, 'poweroff');
      // A shell as PID 1 (subhost start) takes SIGHUP as its terminal going away.
      const signal = record.mode === 'start' ? 'SIGHUP' : 'SIGUSR2';
      // The kernel drops a signal that a PID namespace's init does not catch: then there is nothing to wait for.
      ignored = !catchesSignal(pid1.pid, signal);
      signalProc(pid1, signal);
      crashPoint(rt.env, 'poweroff:signalled');
      const deadline = ignored ? 0 : Date.now() + timeoutSeconds * 1000;
      const events = `${rt.cgroupMount}/${CGROUP_PARENT}/${name}/cgroup.events`;
      waited = timed('wait for PID 1', () => waitForPid1End(pid1, events, deadline)).then((ended) => {
        crashPoint(rt.env, 'poweroff:waited');
        return ended;
      });
    }
    // The release looks for NAME's resources while the guest powers off.
    const out = await release(rt, name, { lock, until: waited });
    return { ...out, killed: waited ? !(await waited) : false, ignored, alreadyStopped: false };
  } finally {
    lock.release();
  }
}
