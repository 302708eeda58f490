/**
 * Milliseconds on the monotonic clock, for durations and deadlines. Not performance.now(): the
 * first use of `performance` loads Node's perf_hooks modules, 1.5 ms of every command's start here.
 * (`--timings` uses it for the rows' starts, ms since the process started.)
 */
export function monotonicMs(): number {
  const [s, ns] = process.hrtime();
  return s * 1e3 + ns / 1e6;
}
