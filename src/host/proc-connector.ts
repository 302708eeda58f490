import { bpfAddon } from './bpf-addon';

/** A process that exec'd, as it was when its batch was handed over (still running then). */
export interface Exec {
  pid: number;
  /** /proc/PID/exe */
  exe: string;
  comm: string;
}

/** New processes from the kernel: each batch of exec'd processes still running, and `overrun` when events were lost. */
export type ExecBatch = (execs: Exec[], overrun: boolean) => void;

export interface ExecWatch {
  close(): void;
}

/** How long the kernel's ack of the subscription may take before the connector counts as absent. */
const ACK_MS = 2000;

/**
 * Subscribe to the netlink proc connector's exec events (native/bpf/proc_connector.c): a socket
 * filter keeps every other event in the kernel, and libuv polls the socket on this event loop; the
 * first exec of a batch starts a pause of `delayMs`, then the addon reads the executable and comm of
 * each process exec'd meanwhile (those that ended are left out) and hands them over in one call. Rejects, with the reason, where it cannot be had:
 * no addon (or one older than the connector), a kernel without CONFIG_PROC_EVENTS (no ack), EPERM.
 */
export function watchExecs(onBatch: ExecBatch, delayMs = 200): Promise<ExecWatch> {
  return new Promise((resolve, reject) => {
    let watch: { close(): void } | undefined;
    let acked = false;
    const fail = (why: string) => {
      watch?.close();
      reject(new Error(why));
    };
    const timer = setTimeout(() => fail(`no ack from the kernel within ${ACK_MS} ms (CONFIG_PROC_EVENTS?)`), ACK_MS);
    try {
      const addon = bpfAddon();
      if (typeof addon.watchExecs !== 'function') throw new Error('the native addon predates the proc connector: run `npm run build:native`');
      watch = addon.watchExecs((pids, exes, comms, overrun, ack) => {
        if (!acked && ack >= 0) {
          clearTimeout(timer);
          if (ack !== 0) return fail(`the kernel refused the subscription (errno ${ack})`);
          acked = true;
          resolve(watch!);
        }
        // Events before the ack are this watch's too: none is dropped.
        if (pids.length || overrun) onBatch(pids.map((pid, i) => ({ pid, exe: exes[i], comm: comms[i] })), overrun);
      }, delayMs);
    } catch (err) {
      clearTimeout(timer);
      fail((err as Error).message);
    }
  });
}
