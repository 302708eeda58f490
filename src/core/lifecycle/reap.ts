import { isAlive, procRef, startToEpochMs } from '../../host/proc';
import type { Runtime } from '../state/runtime';
import { readState, writeState, type StateRecord } from '../state/records';
import { writeFileSync } from 'node:fs';
import { recordedLayout } from '../storage/layout';
import { boot } from './boot';
import { lockSubhost } from '../state/lock';
import { release } from './stop';
import { stepOutOfMonitor } from './supervisors';

/** PID 1's end as the supervisor saw it: exit 129 or death by SIGHUP means reboot. */
export function wantsReboot(status: number): boolean {
  return status === 129;
}

/** A reboot this soon after its boot counts towards a reboot loop. */
export const QUICK_REBOOT_SECONDS = 10;
/** Quick reboots in a row after which the subhost is not booted again. */
export const MAX_QUICK_REBOOTS = 3;

/** Quick reboots in a row including this one, and how long to wait before booting again (pure). */
export function rebootBackoff(rec: Pick<StateRecord, 'rebootStreak'>, upSeconds: number): { streak: number; delaySeconds: number; giveUp: boolean } {
  const streak = upSeconds < QUICK_REBOOT_SECONDS ? (rec.rebootStreak ?? 0) + 1 : 0;
  return { streak, delaySeconds: streak ? Math.min(2 ** (streak - 1), 30) : 0, giveUp: streak > MAX_QUICK_REBOOTS };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * `subhost _reap`: run by the supervisor when PID 1 has ended. Releases the subhost, and boots
 * it again — from the config and layout its first boot recorded — when the guest asked for a
 * reboot; a guest that reboots soon after every boot is booted again later and later, and after
 * MAX_QUICK_REBOOTS no more (said in the log, in `status` and in the note beside the log).
 * A stale call (another boot since) does nothing.
 */
export async function reap(rt: Runtime, name: string, bootId: string, status: number, log: (line: string) => void): Promise<void> {
  try {
    stepOutOfMonitor(rt.cgroupMount);
  } catch (err) {
    log(`subhost: ${name}: leaving subhost.monitor/${name}: ${(err as Error).message}`);
  }
  const lock = await lockSubhost(rt, name, 'release', 120);
  try {
    const record = readState(rt.paths, name);
    if (!record || record.bootId !== bootId || record.op) return;
    if (isAlive(record.pid1)) return;
    let reboot = wantsReboot(status) && record.mode === 'boot';
    const up = record.pid1 ? (Date.now() - startToEpochMs(record.pid1.start)) / 1000 : 0;
    const backoff = rebootBackoff(record, up);
    if (reboot && backoff.giveUp) {
      const why = `reboot loop: ${backoff.streak} reboots in a row, each within ${QUICK_REBOOT_SECONDS} s of its boot; not booting it again (\`subhost boot ${name}\` does)`;
      log(`subhost: ${name}: ${why}`);
      writeFileSync(rt.paths.rebootLoopNote(name), `${why}\n`);
      reboot = false;
    }
    log(`subhost: ${name}: PID 1 ended (status ${status}); ${reboot ? 'rebooting' : 'releasing'}`);
    if (reboot && backoff.delaySeconds) {
      record.rebootStreak = backoff.streak;
      record.rebootAt = new Date(Date.now() + backoff.delaySeconds * 1000).toISOString();
      writeState(rt.paths, record);
      log(`subhost: ${name}: reboot loop: ${backoff.streak} quick reboots in a row; booting again in ${backoff.delaySeconds} s`);
      await sleep(backoff.delaySeconds * 1000);
    }
    await release(rt, name, { lock, self: procRef(process.pid) });
    if (reboot) {
      const recorded = { config: record.config, layout: recordedLayout(record, rt.paths) };
      const out = await boot(rt, name, { lock, recorded, graceSeconds: record.graceSeconds, rebootStreak: backoff.streak });
      if (!out.dryRun) log(`subhost: ${name}: booted again, PID 1 is ${out.record.pid1?.pid}`);
    }
  } finally {
    lock.release();
  }
}
