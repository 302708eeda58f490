import type { ChildProcess } from 'node:child_process';
import type { StepContext } from '../plan/executor';
import type { Paths } from '../state/paths';

/** What every subhost step handler may use besides earlier results. */
export interface SubhostContext extends StepContext {
  paths: Paths;
  name: string;
  /** Absolute path of the cgroup2 mount. */
  cgroupMount: string;
  /** Warnings collected while applying (limits without a controller, ...). */
  warnings: string[];
  /** `subhost start`: the process on the caller's terminal whose end means the shell has ended. */
  foreground?: {
    child: ChildProcess;
    /** Let the shell run: it waits until PID 1 is recorded, since it may end at once. */
    go: () => void;
  };
}

export function resultOf<R>(ctx: StepContext, id: string): R {
  const r = ctx.results.get(id);
  if (r === undefined) throw new Error(`internal: step ${id} has no result`);
  return r as R;
}
