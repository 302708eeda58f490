import { acquireLock, type Lock } from '../../host/flock';
import type { Runtime } from './runtime';

/** Serialise operations on one subhost; waits up to waitSeconds for the holder. */
export function lockSubhost(rt: Runtime, name: string, cmd: string, waitSeconds = 30): Promise<Lock> {
  return acquireLock(rt.paths.lockFile(name), { waitSeconds, subject: `subhost ${name}`, holder: `${cmd} ${name}` });
}

/**
 * Host-wide, held only while a boot checks its images and MACs against the other subhosts and
 * records itself: two boots of different subhosts must not both take the same image or MAC.
 */
export function lockHost(rt: Runtime, holder: string, waitSeconds = 60): Promise<Lock> {
  return acquireLock(rt.paths.lockFile('.host'), { waitSeconds, subject: 'the host-wide subhost lock', holder });
}
