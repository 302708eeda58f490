import type { Cgroup } from '../../host/cgroupfs';
import type { PipeSource } from '../../host/pipe-reader';
import { nsPids, procRef, type ProcRef } from '../../host/proc';

export const READY_TIMEOUT_MS = 30_000;

/** The host PID of the process that is PID 1 in its own namespace, among the processes of the cgroup and its leaf. */
export function findPid1(cg: Cgroup): ProcRef | undefined {
  for (const pid of cg.allProcs()) {
    const ns = nsPids(pid);
    if (ns.length >= 2 && ns[ns.length - 1] === 1) return procRef(pid);
  }
  return undefined;
}

/** Resolve with what the readiness pipe said: "ready", or why it never came. keepOpen: a ready pipe stays open. */
export function waitReady(pipe: PipeSource & { pause?(): unknown }, timeoutMs: number, keepOpen = false): Promise<'ready' | 'eof' | 'timeout'> {
  return new Promise((resolve) => {
    let text = '';
    const done = (r: 'ready' | 'eof' | 'timeout') => {
      clearTimeout(timer);
      pipe.removeAllListeners();
      if (keepOpen && r === 'ready') {
        pipe.pause?.();
        pipe.on('error', () => undefined);
      } else pipe.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done('timeout'), timeoutMs);
    pipe.on('data', (b: Buffer) => {
      text += b.toString();
      if (text.includes('ready\n')) done('ready');
    });
    pipe.on('end', () => done('eof'));
    pipe.on('error', () => done('eof'));
  });
}

/** Why PID 1 never said "ready" (the readiness pipe's outcome, or the spawn's own error). */
export function notReadyReason(outcome: 'ready' | 'eof' | 'timeout', spawnError?: string): string {
  if (spawnError) return spawnError;
  if (outcome === 'timeout') return `not ready after ${READY_TIMEOUT_MS / 1000} s`;
  return outcome === 'ready' ? 'ready, but gone at once' : 'it ended before it was ready';
}
