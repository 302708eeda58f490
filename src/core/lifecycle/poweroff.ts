import { SubhostError } from '../../errors';
import { catchesSignal, isAlive, procRef, signalProc } from '../../host/proc';
import { checkName } from '../config/names';
import type { Runtime } from '../state/runtime';
import { writeState } from '../state/records';
import { lockSubhost } from '../state/lock';
import { crashPoint } from './test-hooks';
import { known } from '../state/active';
import { refuseOtherRoot } from './stop';
import { waitForPid1End } from './pid1-end';
import { CGROUP_PARENT } from '../state/paths';
import { release, type StopOutcome } from './stop';

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
  const lock = await lockSubhost(rt, name, 'poweroff');
  try {
    const { record, derived } = known(rt, name);
    if (derived.state === 'failed') throw new SubhostError(`subhost ${name} is failed: ${derived.reason}`);
    if (!record || derived.state === 'stopped') return { released: false, killed: false, alreadyStopped: true };
    refuseOtherRoot(rt, record);
    let killed = false;
    let ignored = false;
    if (record.pid1 && isAlive(record.pid1)) {
      record.op = { cmd: 'poweroff', ...procRef(process.pid)! };
      writeState(rt.paths, record);
      // A shell as PID 1 (subhost start) takes SIGHUP as its terminal going away.
      const signal = record.mode === 'start' ? 'SIGHUP' : 'SIGUSR2';
      // The kernel drops a signal that a PID namespace's init does not catch: then there is nothing to wait for.
      ignored = !catchesSignal(record.pid1.pid, signal);
      signalProc(record.pid1, signal);
      crashPoint(rt.env, 'poweroff:signalled');
      const deadline = ignored ? 0 : Date.now() + timeoutSeconds * 1000;
      killed = !(await waitForPid1End(record.pid1, `${rt.cgroupMount}/${CGROUP_PARENT}/${name}/cgroup.events`, deadline));
      crashPoint(rt.env, 'poweroff:waited');
    }
    const out = await release(rt, name, { lock });
    return { ...out, killed, ignored, alreadyStopped: false };
  } finally {
    lock.release();
  }
}
