import { isAlive, procRef } from '../../host/proc';
import type { Runtime } from '../state/runtime';
import { readState } from '../state/records';
import { boot } from './boot';
import { lockSubhost } from '../state/lock';
import { release } from './stop';

/** PID 1's end as the supervisor saw it: exit 129 or death by SIGHUP means reboot. */
export function wantsReboot(status: number): boolean {
  return status === 129;
}

/**
 * `subhost _reap`: run by the supervisor when PID 1 has ended. Releases the subhost, and boots
 * it again when the guest asked for a reboot. A stale call (another boot since) does nothing.
 */
export async function reap(rt: Runtime, name: string, bootId: string, status: number, log: (line: string) => void): Promise<void> {
  const lock = await lockSubhost(rt, name, 'release', 120);
  try {
    const record = readState(rt.paths, name);
    if (!record || record.bootId !== bootId || record.op) return;
    if (isAlive(record.pid1)) return;
    const reboot = wantsReboot(status) && record.mode === 'boot';
    log(`subhost: ${name}: PID 1 ended (status ${status}); ${reboot ? 'rebooting' : 'releasing'}`);
    await release(rt, name, { lock, self: procRef(process.pid) });
    if (reboot) {
      const out = await boot(rt, name, { lock });
      if (!out.dryRun) log(`subhost: ${name}: booted again, PID 1 is ${out.record.pid1?.pid}`);
    }
  } finally {
    lock.release();
  }
}
