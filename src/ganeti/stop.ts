import { ConfigError, SubhostError } from '../errors';
import { known } from '../core/state/active';
import { poweroff } from '../core/lifecycle/poweroff';
import { release } from '../core/lifecycle/stop';
import type { Runtime } from '../core/state/runtime';
import { deactivateDisks, gntReason, readInstance } from './gnt';
import { subhostNameOf } from './mapping';
import { isThisNode, thisHost } from './node';

export interface GntStopOutcome {
  instance: string;
  subhost: string;
  /** What happened to the subhost: powered off, released (it had failed), or nothing (not active). */
  subhostWas: 'powered-off' | 'released' | 'stopped';
  killed: boolean;
  /** False when Ganeti runs the instance itself: its disks are Ganeti's then, left active. */
  disksDeactivated: boolean;
}

/** `subhost gnt-stop INSTANCE`: power the subhost off as `poweroff` does, then deactivate the disks; idempotent. */
export async function gntStop(rt: Runtime, instance: string, timeoutSeconds = 60): Promise<GntStopOutcome> {
  const inst = await readInstance(instance);
  const name = subhostNameOf(inst.name);
  // Deactivating from another node would pull the disks from under a subhost running on the primary.
  if (!isThisNode(inst.pnode)) throw new ConfigError(`instance ${inst.name}: this host (${thisHost()}) is not its primary node ${inst.pnode}: run gnt-stop there`);
  let subhostWas: GntStopOutcome['subhostWas'] = 'stopped';
  let killed = false;
  const state = known(rt, name).derived.state;
  if (state === 'failed') {
    await release(rt, name);
    subhostWas = 'released';
  } else if (state !== 'stopped') {
    const r = await poweroff(rt, name, timeoutSeconds);
    if (!r.alreadyStopped) subhostWas = 'powered-off';
    killed = r.killed;
  }
  // Ganeti refuses to deactivate the disks of an instance it runs itself: they are not ours then.
  const disksDeactivated = !inst.adminUp && !inst.operUp;
  if (disksDeactivated) {
    try {
      await deactivateDisks(inst.name);
    } catch (err) {
      throw new SubhostError(`instance ${inst.name}: cannot deactivate its disks: ${gntReason(err)}`, { cause: err });
    }
  }
  return { instance: inst.name, subhost: name, subhostWas, killed, disksDeactivated };
}
