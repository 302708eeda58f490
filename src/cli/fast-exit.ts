import { optionalAddon } from '../host/bpf-addon';
import { createdStdStreams } from './std-streams';

/**
 * Once a command is done (Node is about to exit: nothing left on its event loop), end the process
 * with _exit(2). Node's own exit then tears down V8's heap, its platform threads and the
 * environment, about 5-15 ms of every command here, for memory the kernel frees anyway.
 * Node's ordinary exit is kept wherever something could need it: exit listeners, a profiler or
 * coverage writing at exit (flags on Node's command line, NODE_V8_COVERAGE), output not yet
 * written, or no addon.
 */
export function exitWithoutTeardown(env: NodeJS.ProcessEnv = process.env): void {
  process.once('beforeExit', (code) => {
    if (process.listenerCount('exit') > 0 || process.execArgv.length > 0 || env.NODE_V8_COVERAGE) return;
    if (createdStdStreams().some((s) => s.writableLength > 0)) return;
    const exitNow = optionalAddon()?.exitNow;
    if (typeof exitNow === 'function') exitNow(typeof code === 'number' ? code : 0);
  });
}
