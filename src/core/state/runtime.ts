import { noteV1Hierarchies } from '../../host/cgroup-v1';
import { findCgroup2Mount, readCgroupMounts } from '../../host/cgroupfs';
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

  /** The cgroup2 mount, found in mountinfo once; the same reading gives the v1 hierarchies. */
  get cgroupMount(): string {
    if (this.cgroup === undefined) {
      const entries = readCgroupMounts();
      noteV1Hierarchies(entries);
      this.cgroup = findCgroup2Mount(entries);
    }
    return this.cgroup;
  }
}
