import { bpfAddon } from './bpf-addon';

/** New processes from the kernel: each batch of exec'd PIDs, and `overrun` when events were lost. */
export type ExecBatch = (pids: number[], overrun: boolean) => void;

export interface ExecWatch {
  close(): void;
}

/** How long the kernel's ack of the subscription may take before the connector counts as absent. */
const ACK_MS = 2000;

/**
 * Subscribe to the netlink proc connector's exec events (native/bpf/proc_connector.c): a socket
 * filter keeps every other event in the kernel, and libuv polls the socket on this event loop,
 * handing over at most one batch per `delayMs`. Rejects, with the reason, where it cannot be had:
 * no addon (or one older than the connector), a kernel without CONFIG_PROC_EVENTS (no ack), EPERM.
 */
export function watchExecs(onBatch: ExecBatch, delayMs = 100): Promise<ExecWatch> {
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
      watch = addon.watchExecs((pids, overrun, ack) => {
        if (!acked && ack >= 0) {
          clearTimeout(timer);
          if (ack !== 0) return fail(`the kernel refused the subscription (errno ${ack})`);
          acked = true;
          resolve(watch!);
        }
        // Events before the ack are this watch's too: none is dropped.
        if (pids.length || overrun) onBatch(pids, overrun);
      }, delayMs);
    } catch (err) {
      clearTimeout(timer);
      fail((err as Error).message);
    }
  });
}
