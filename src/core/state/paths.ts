import { join, resolve } from 'node:path';
import { canonicalPath } from '../../host/file-identity';

export const DEFAULT_ROOT = '/opt/sub';
export const DEFAULT_RUN = '/run/subhost';
/** Parent cgroup of every subhost, under the cgroup2 mount. */
export const CGROUP_PARENT = 'subhost';
/** Parent cgroup of the virtual machines (`subhost cgroups setup` moves each into vm/NAME). */
export const CGROUP_VM = 'vm';
/**
 * Where the supervisors live, outside the subhosts' own cgroups like LXC's monitor: NAME's in
 * subhost.monitor/NAME, so that finding them reads one cgroup.procs, not every supervisor's
 * environment (`_reap` steps up into subhost.monitor itself, as did every supervisor before).
 */
export const CGROUP_MONITOR = 'subhost.monitor';

/** Every path subhost reads or writes, derived from SUBHOST_ROOT and SUBHOST_RUN. */
export class Paths {
  readonly root: string;
  readonly run: string;

  constructor(root: string, run: string) {
    // Absolute and normalized once: the run files below are named by concatenation.
    this.root = resolve(root);
    this.run = resolve(run);
  }

  /** SUBHOST_ROOT with its symlinks resolved: mountinfo and loop devices name the real path, and so must we. */
  static fromEnv(env: NodeJS.ProcessEnv, rootFlag?: string): Paths {
    return new Paths(canonicalPath(rootFlag ?? env.SUBHOST_ROOT ?? DEFAULT_ROOT), env.SUBHOST_RUN ?? DEFAULT_RUN);
  }

  subhostDir(name: string): string {
    return join(this.root, name);
  }

  config(name: string): string {
    return join(this.root, name, 'config');
  }

  live(name: string): string {
    return join(this.root, name, 'live');
  }

  /** Overlay and directory subhosts: the root filesystem, or the overlay's upper layer. */
  rootDir(name: string): string {
    return join(this.root, name, 'root');
  }

  workDir(name: string): string {
    return join(this.root, name, 'work');
  }

  /** Where NAME.img is mounted; its own root/ and work/ are used instead. */
  mnt(name: string): string {
    return join(this.root, name, 'mnt');
  }

  layersImage(name: string): string {
    return join(this.root, name, `${name}.img`);
  }

  // These three are named for every subhost with runtime state by each boot (the others' claims) and
  // list: path.join's normalizing took 5 ms of a boot with 200 running. NAME is a checked name (no /).
  runDir(name: string): string {
    return `${this.run}/${name}`;
  }

  stateFile(name: string): string {
    return `${this.run}/${name}/state.json`;
  }

  /** What NAME holds that no other subhost may take (storage/claims.ts), beside its record. */
  claimsFile(name: string): string {
    return `${this.run}/${name}/claims.json`;
  }

  /** Console logs outlive the runtime dir (stop removes it), so the last boot can still be read. */
  consoleLog(name: string): string {
    return join(this.run, '.logs', `${name}.log`);
  }

  /** Why a guest's reboot loop was stopped: kept beside the log until NAME boots again. */
  rebootLoopNote(name: string): string {
    return join(this.run, '.logs', `${name}.reboot-loop`);
  }

  consoleFifo(name: string): string {
    return join(this.run, name, 'console.fifo');
  }

  /** Lock files live outside the runtime dir, which stop removes; a lock file is never deleted. */
  lockFile(name: string): string {
    return join(this.run, '.locks', name);
  }
}
