import { rmSync } from 'node:fs';
import { asSubhostError, ConfigError, SubhostError } from '../../errors';
import { procRef } from '../../host/proc';
import { readCgroupLayout } from '../cgroups/limits';
import { loadConfig } from '../config';
import { checkDisksAndNetwork } from '../config/host-checks';
import { checkFolderMode } from '../storage/folder-mode';
import type { SubhostConfig } from '../config/types';
import { deviceControl } from '../cgroups/devices';
import { checkLayout, detectLayout, type Layout, checkLayoutImage, imagesOf } from '../storage/layout';
import { identityOf } from '../../host/file-identity';
import type { Lock } from '../../host/flock';
import { checkName } from '../config/names';
import type { PartitionTable } from '../storage/partition-table';
import { startImageProbes, type ImageProbes } from '../config/image-probes';
import { forceOffsetLoops } from '../steps/disks';
import { loopsBackedBy } from '../../host/loop-identity';
import { buildBootPlan } from '../plan/boot-plan';
import type { SubhostPlan } from '../plan/subhost-steps';
import type { Runtime } from '../state/runtime';
import { newBootId, removeRuntimeDir, writeState, type Mode, type StateRecord } from '../state/records';
import type { SubhostContext } from '../steps/context';
import type { StartInitResult } from '../steps/init';
import { pausePoint } from '../../test-hooks';
import { known } from '../state/active';
import { otherClaims, writeClaims } from '../storage/claims';
import { applyRecorded } from './apply';
import { lockHost, lockSubhost } from '../state/lock';
import { timed } from '../plan/timings';

export interface BootOptions {
  configFile?: string;
  dryRun?: boolean;
  /** Seconds subhost-init waits between SIGTERM and SIGKILL at power off. */
  graceSeconds?: number;
  /** Held already (a reboot from `_reap`). */
  lock?: Lock;
  /** A guest's reboot: the config and layout its first boot recorded (its --config file and environment included), not a new reading. */
  recorded?: { config: SubhostConfig; layout: Layout };
  /** Quick reboots in a row so far (see reap). */
  rebootStreak?: number;
}

export type BootOutcome = { dryRun: true; plan: SubhostPlan; config: SubhostConfig } | { dryRun: false; record: StateRecord };

/** Refuse to start over anything that is already there. */
export function refuseIfActive(rt: Runtime, name: string): void {
  const k = known(rt, name);
  if (k.derived.busy && k.derived.busy !== 'release') throw new SubhostError(`subhost ${name} is busy: \`subhost ${k.derived.busy}\` is in progress`);
  if (k.derived.state === 'stopped') {
    if (k.record) removeRuntimeDir(rt.paths, name);
    return;
  }
  const from = k.record && k.record.root !== rt.paths.root ? ` (from ${k.record.root})` : '';
  if (k.derived.state === 'failed') throw new SubhostError(`subhost ${name} is failed${from}: ${k.derived.reason}`);
  if (k.derived.state === 'hibernated') throw new SubhostError(`subhost ${name} is hibernated${from}: \`subhost start ${name}\` resumes it, \`subhost stop ${name}\` releases it`);
  throw new SubhostError(`subhost ${name} is already ${k.derived.state}${from}`);
}

/** The config and its layout (read-only; boot and start). */
export async function layoutConfig(rt: Runtime, name: string, configFile?: string): Promise<{ config: SubhostConfig; layout: Layout }> {
  const config = await loadConfig(rt.paths, name, { configFile, env: rt.env });
  return { config, layout: detectLayout(config, rt.paths) };
}

/** What needs neither the host lock nor the other subhosts: the folder's mode, the layout; then the image probes start. */
export function checkOwn(rt: Runtime, config: SubhostConfig, layout: Layout): ImageProbes {
  checkFolderMode(rt.paths.subhostDir(config.name));
  checkLayout(config, layout);
  return startImageProbes(config, layout);
}

/** Everything checkable before the host is touched: the folder's mode, the layout, images, partitions, bridges, MACs. */
export async function checkAgainstHost(rt: Runtime, config: SubhostConfig, layout: Layout, probes?: ImageProbes): Promise<Map<string, PartitionTable>> {
  if (!probes) {
    // A dry run: as boot does, every probe ends before any check, so a refused check leaves none running.
    probes = checkOwn(rt, config, layout);
    await probes.settled();
  }
  // Only whether NAME's own images are attached matters here: loops are looked at by identity, on
  // the pool while the others' claims are read here.
  const attached = loopsBackedBy(imagesOf(config, layout).flatMap((image) => identityOf(image) ?? []));
  // Awaited below; should otherClaims throw first, the walk's failure is not an unhandled one.
  attached.catch(() => undefined);
  const claims = otherClaims(rt.paths, config.name);
  const loops = await attached;
  checkLayoutImage(layout, loops);
  if (layout.imageFile) {
    const { problem } = await probes.type(layout.imageFile);
    if (problem) throw new ConfigError(`${layout.imageFile}: ${problem}`);
  }
  return checkDisksAndNetwork(config, claims, loops, probes);
}

/** The config, its layout and the host checks in one (start, and the dry run of boot). */
export async function checkedConfig(rt: Runtime, name: string, configFile?: string): Promise<{ config: SubhostConfig; layout: Layout; tables: Map<string, PartitionTable> }> {
  const { config, layout } = await layoutConfig(rt, name, configFile);
  return { config, layout, tables: await checkAgainstHost(rt, config, layout) };
}

function planFor(rt: Runtime, config: SubhostConfig, layout: Layout, tables: Map<string, PartitionTable>, opts: BootOptions, bootId: string): SubhostPlan {
  return buildBootPlan(config, { paths: rt.paths, tables, layout, bootId, graceSeconds: opts.graceSeconds ?? 10, deviceControl: deviceControl(undefined, rt.env), cgroupLayout: readCgroupLayout(rt.cgroupMount), offsetLoops: forceOffsetLoops(rt.env) });
}

export async function bootPlan(rt: Runtime, name: string, opts: BootOptions, bootId: string): Promise<{ plan: SubhostPlan; config: SubhostConfig; layout: Layout }> {
  const { config, layout, tables } = await checkedConfig(rt, name, opts.configFile);
  return { plan: planFor(rt, config, layout, tables, opts, bootId), config, layout };
}

/**
 * Check NAME's config against the host and the other subhosts, plan, and write its first record,
 * under the host-wide lock: once recorded, the next boot's or start's checks see its images and
 * MACs (the config is read before, outside the lock). boot and start.
 */
export async function checkAndRecord(
  rt: Runtime,
  name: string,
  mode: Mode,
  bootId: string,
  { config, layout }: { config: SubhostConfig; layout: Layout },
  plan: (tables: Map<string, PartitionTable>) => SubhostPlan,
): Promise<{ plan: SubhostPlan; record: StateRecord }> {
  // NAME's images are probed (partx, blkid -p) before the host lock, which serialises every
  // boot's checks: held over the probes, it made a batch boot wait on each boot's in turn.
  let probes: ImageProbes | undefined;
  await timed('probe images', () => (probes = checkOwn(rt, config, layout)).settled());
  const hostLock = await timed('lock host', () => lockHost(rt, `${mode} ${name}`));
  try {
    const planned = plan(await timed('check against host', () => checkAgainstHost(rt, config, layout, probes)));
    await pausePoint(rt.env, `${mode}:checked`);
    const record: StateRecord = {
      version: 1,
      name,
      root: rt.paths.root,
      bootId,
      mode,
      phase: 'starting',
      op: { cmd: mode, ...procRef(process.pid)! },
      createdAt: new Date().toISOString(),
      config,
      layout,
      applied: [],
      warnings: [],
    };
    await timed('write record', () => {
      try {
        // Claims first: a crash between the two leaves them for the next boot's checks to respect.
        writeClaims(rt.paths, record);
        writeState(rt.paths, record);
      } catch (err) {
        // A full /run: the folder made for them (NAME had none: it is not active) goes, or NAME would be failed.
        removeRuntimeDir(rt.paths, name);
        throw err;
      }
    });
    return { plan: planned, record };
  } finally {
    hostLock.release();
  }
}

/** `subhost boot NAME`: plan, then apply with a revert stack; returns once PID 1 runs. */
export async function boot(rt: Runtime, name: string, opts: BootOptions = {}): Promise<BootOutcome> {
  checkName(name);
  const bootId = newBootId();
  if (opts.dryRun) {
    const { plan, config } = await bootPlan(rt, name, opts, bootId);
    return { dryRun: true, plan, config };
  }
  // Read the config (bash) while waiting for the lock: both are processes of their own.
  const configured = opts.recorded ? Promise.resolve(opts.recorded) : timed('read config', () => layoutConfig(rt, name, opts.configFile));
  configured.catch(() => undefined);
  const lock = opts.lock ?? (await timed('lock subhost', () => lockSubhost(rt, name, 'boot')));
  try {
    refuseIfActive(rt, name);
    const { config, layout } = await configured;
    const { plan, record } = await checkAndRecord(rt, name, 'boot', bootId, { config, layout }, (tables) => planFor(rt, config, layout, tables, opts, bootId));
    if (opts.graceSeconds !== undefined) record.graceSeconds = opts.graceSeconds;
    if (opts.rebootStreak) record.rebootStreak = opts.rebootStreak;
    rmSync(rt.paths.rebootLoopNote(name), { force: true });
    const ctx: SubhostContext = { results: new Map(), paths: rt.paths, name, cgroupMount: rt.cgroupMount, warnings: [] };
    await applyRecorded(rt, record, plan, ctx);
    const started = ctx.results.get('start-init') as StartInitResult;
    record.pid1 = started.pid1;
    record.supervisor = started.supervisor;
    record.phase = 'running';
    record.warnings = ctx.warnings;
    delete record.op;
    try {
      await timed('write record', () => writeState(rt.paths, record));
    } catch (err) {
      // PID 1 runs but the record cannot say so (a full /run): released, as a boot that failed is.
      const failed = asSubhostError(err).withContext(`recording ${name} as running`);
      const { release } = await import('./stop');
      await release(rt, name, { lock }).catch((e: unknown) => failed.details.push(`while releasing it: ${(e as Error).message}`));
      throw failed;
    }
    return { dryRun: false, record };
  } finally {
    if (!opts.lock) lock.release();
  }
}
