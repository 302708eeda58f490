import { existsSync, mkdirSync, realpathSync } from 'node:fs';
import { ConfigError, SubhostError } from '../errors';
import { writeFileAtomic } from '../host/atomic-file';
import { isBridge } from '../host/ip';
import { known } from '../core/state/active';
import { boot } from '../core/lifecycle/boot';
import type { Runtime } from '../core/state/runtime';
import type { StateRecord } from '../core/state/records';
import { activateDisks, deactivateDisks, gntReason, readInstance, type GntInstance } from './gnt';
import { configText, mapInstance, type GntMapping } from './mapping';
import { readMark, writeMark } from './mark';
import { isThisNode, thisHost } from './node';

export type GntStartOutcome = { dryRun: true; mapping: GntMapping } | { dryRun: false; mapping: GntMapping; record: StateRecord };

/** Everything that refuses before a disk is touched: the node, Ganeti's own state, the bridges, the subhost. */
export function refuseBeforeActivating(rt: Runtime, inst: GntInstance, m: GntMapping): void {
  const what = `instance ${inst.name}`;
  if (!isThisNode(inst.pnode)) throw new ConfigError(`${what}: this host (${thisHost()}) is not its primary node ${inst.pnode}: run gnt-start there`);
  if (inst.operUp || inst.adminUp) throw new ConfigError(`${what}: it is up under Ganeti's ${inst.hypervisor} hypervisor (${inst.status}): \`gnt-instance shutdown ${inst.name}\` first`);
  inst.nics.forEach((n, i) => {
    if (n.mode !== 'bridged') throw new ConfigError(`${what}: nic/${i} is ${n.mode}, not bridged`);
    if (!isBridge(n.link)) throw new ConfigError(`${what}: nic/${i}: bridge ${n.link || '(none)'} does not exist on this host`);
  });
  const k = known(rt, m.subhost);
  if (k.derived.state !== 'stopped') throw new ConfigError(`${what}: subhost ${m.subhost} is already ${k.derived.state}`);
  if (existsSync(rt.paths.config(m.subhost)) && readMark(rt.paths, m.subhost)?.instance !== inst.name) {
    throw new ConfigError(`${what}: ${rt.paths.subhostDir(m.subhost)} holds another subhost's config; its name is taken`);
  }
}

/** `subhost gnt-start INSTANCE`: activate its disks, write its config, boot it like `boot`; undo on failure. */
export async function gntStart(rt: Runtime, instance: string, opts: { dryRun?: boolean } = {}): Promise<GntStartOutcome> {
  const inst = await readInstance(instance);
  const planned = mapInstance(inst);
  refuseBeforeActivating(rt, inst, planned);
  if (opts.dryRun) return { dryRun: true, mapping: planned };
  const wereActive = inst.disksActive;
  // From here on a failure deactivates what we activated: nothing is left for Ganeti to find.
  const undo = async (err: unknown): Promise<never> => {
    if (!wereActive) await deactivateDisks(inst.name).catch(() => undefined);
    throw err;
  };
  let paths: string[];
  try {
    paths = await activateDisks(inst.name);
  } catch (err) {
    return undo(new SubhostError(`instance ${inst.name}: cannot activate its disks: ${gntReason(err)}`, { cause: err }));
  }
  try {
    // Ganeti names a device by a link (/dev/disk/…, /dev/xenvg/…); a loop's backing file is the
    // device itself, and release finds our loops by it.
    const m = mapInstance(inst, paths.map((p) => realpathSync(p)));
    // 0700: boot refuses a subhost folder that other users can traverse (core/storage/folder-mode.ts).
    mkdirSync(rt.paths.subhostDir(m.subhost), { recursive: true, mode: 0o700 });
    writeMark(rt.paths, m);
    writeFileAtomic(rt.paths.config(m.subhost), configText(m));
    const out = await boot(rt, m.subhost);
    if (out.dryRun) throw new Error('unreachable');
    return { dryRun: false, mapping: m, record: out.record };
  } catch (err) {
    return undo(err);
  }
}
