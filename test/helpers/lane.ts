/**
 * Set by the production-kernel lane (`npm run test:vm`, scripts/vm/guest-run.sh): its guest runs
 * Debian's stock kernel, which has what a test kernel may lack (partition parsers, loadable
 * modules, SysRq, /proc/kcore, an RTC, BFQ, pure cgroup v2). There a test must take the real path.
 */
export const inProductionLane = process.env.SUBHOST_TEST_LANE === 'vm';

/** In the lane, fail where the kernel lacks `what`: the test would otherwise pass on its fallback path. */
export function requireInLane(what: string, has: boolean): void {
  if (inProductionLane && !has) throw new Error(`production-kernel lane: this kernel has no ${what}, so the test would take its fallback path`);
}
