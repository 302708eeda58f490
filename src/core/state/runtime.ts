import { findCgroup2Mount } from '../../host/cgroupfs';
import { Paths } from './paths';

/** What every lifecycle operation works with: where things are, and the environment. */
export class Runtime {
  private cgroup?: string;

  constructor(
    readonly paths: Paths,
    readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  static fromEnv(env: NodeJS.ProcessEnv, rootFlag?: string): Runtime {
    return new Runtime(Paths.fromEnv(env, rootFlag), env);
  }

  /** The cgroup2 mount, found in mountinfo once. */
  get cgroupMount(): string {
    return (this.cgroup ??= findCgroup2Mount());
  }
}
