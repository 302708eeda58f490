import { acquireLock, type Lock } from '../lock';
import type { Runtime } from '../runtime';

/** Serialise operations on one subhost; waits up to waitSeconds for the holder. */
export function lockSubhost(rt: Runtime, name: string, cmd: string, waitSeconds = 30): Promise<Lock> {
  return acquireLock(rt.paths.lockFile(name), { waitSeconds, subject: `subhost ${name}`, holder: `${cmd} ${name}` });
}
