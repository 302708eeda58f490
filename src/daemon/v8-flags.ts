import { bpfAddon } from '../host/bpf-addon';

/**
 * The V8 flags the daemon runs under. At 500 cgroups, beside a daemon without them on the same
 * host at once: --single-threaded (no V8 worker threads: GC and compiling on the main thread)
 * 3.8 MiB less RSS; --no-opt (no TurboFan: its compiler's code pages are never touched, and a
 * sample's short JS is not worth optimizing) some 4 MiB less again and no more CPU.
 */
export const DAEMON_V8_FLAGS = ['--single-threaded', '--no-opt'];

/**
 * Makes this process the same daemon under DAEMON_V8_FLAGS, which only take effect at Node's
 * start: execv in place (the same PID, descriptors and environment; the addon has it, Node 20 has
 * not), once. Returns why not where it cannot (the daemon then runs on without them), or
 * undefined when they are in effect already; on success it does not return.
 */
export function execWithDaemonFlags(env: NodeJS.ProcessEnv): string | undefined {
  if (DAEMON_V8_FLAGS.every((f) => process.execArgv.includes(f))) return undefined;
  if (env.SUBHOST_DAEMON_V8_FLAGS === '0') return 'SUBHOST_DAEMON_V8_FLAGS=0';
  try {
    const addon = bpfAddon();
    if (typeof addon.execv !== 'function') return 'the native addon predates execv';
    const flags = DAEMON_V8_FLAGS.filter((f) => !process.execArgv.includes(f));
    addon.execv(process.execPath, [process.execPath, ...flags, ...process.execArgv, ...process.argv.slice(1)]);
  } catch (err) {
    return (err as Error).message;
  }
}
