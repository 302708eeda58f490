import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lockSubhost } from '../core/state/lock';
import type { Runtime } from '../core/state/runtime';
import { deriveState, readState } from '../core/state/records';
import { crashPoint } from '../test-hooks';
import { ConfigError, SubhostError } from '../errors';
import { buildBusyboxRoot, writeGuestNetwork } from './busybox-root';
import { configText } from './config-text';
import { configureDebian, debianPlan, debootstrapInto, ensureTarball } from './debian';
import { makeDiskImage } from './disk';
import { hostMirror } from './mirror';
import type { BootstrapRequest } from './options';
import type { Progress } from './progress';
import { makeStaging, removeStaging, removeStaleStaging, type StagingDir } from './staging';

export const DEFAULT_CACHE = '/var/cache/subhost';

export interface BootstrapResult {
  name: string;
  dir: string;
  /** disk1.raw, root/ or the overlay's root/. */
  what: string;
  replaced: boolean;
  checked: boolean;
  seconds: number;
}

/** Refuse an existing NAME unless --force, and never replace one that is active. */
function refuseExisting(rt: Runtime, req: BootstrapRequest): boolean {
  const dir = rt.paths.subhostDir(req.name);
  const state = deriveState(readState(rt.paths, req.name)).state;
  if (state !== 'stopped') throw new ConfigError(`subhost ${req.name} is ${state}: \`subhost poweroff ${req.name}\` (or stop) it before bootstrapping it anew`);
  if (!existsSync(dir)) return false;
  if (!req.force) throw new ConfigError(`subhost ${req.name} exists (${dir}): --force replaces it`);
  return true;
}

/** The root filesystem in staging/root, by kind. */
async function buildRoot(rt: Runtime, req: BootstrapRequest, staging: StagingDir, progress: Progress): Promise<void> {
  const root = join(staging.path, 'root');
  mkdirSync(root, { mode: 0o755 });
  if (req.layout.kind === 'base') {
    progress.report({ phase: 'configure', step: 'writing the upper layer' });
    // The upper layer holds only what makes this guest itself; the base says which network client reads it.
    writeGuestNetwork(root, req, existsSync(join(req.layout.base, 'etc/debian_version')) ? 'ifupdown' : 'udhcpc');
    mkdirSync(join(staging.path, 'work'));
    return;
  }
  if (req.source!.kind === 'busybox') {
    progress.report({ phase: 'install', step: 'building the busybox root' });
    await buildBusyboxRoot(root, req);
    return;
  }
  const plan = debianPlan(req, req.source!.suite, req.mirror ?? hostMirror(), rt.env.SUBHOST_CACHE ?? DEFAULT_CACHE);
  progress.report({ phase: 'download', step: existsSync(plan.tarball) ? `packages cached in ${plan.tarball}` : `downloading packages from ${plan.mirror}` });
  await ensureTarball(plan, staging.path, progress);
  await debootstrapInto(root, plan, progress);
  progress.report({ phase: 'configure', step: 'configuring the guest to boot as a subhost' });
  await configureDebian(root, req);
}

/** Take the finished folder into place; with --force, the old one goes only once the new one is there. */
function moveIntoPlace(rt: Runtime, staging: StagingDir, replace: boolean): void {
  const dir = rt.paths.subhostDir(staging.name);
  const old = `${staging.path}.replaced`;
  if (replace) renameSync(dir, old);
  crashPoint(rt.env, 'bootstrap:moved-aside');
  renameSync(staging.path, dir);
  if (replace) rmSync(old, { recursive: true, force: true });
}

/**
 * `subhost bootstrap`: build the subhost in a staging folder and rename it into place. A
 * failure removes the staging folder; a SIGKILL leaves a staging folder that the next bootstrap
 * (or check-mounts --fix) removes, and no process (guarded) or mount (none is made).
 */
export async function bootstrap(rt: Runtime, req: BootstrapRequest, progress: Progress): Promise<BootstrapResult> {
  const started = Date.now();
  const lock = await lockSubhost(rt, req.name, 'bootstrap');
  let staging: StagingDir | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    if (staging) removeStaging(staging.path);
    process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGHUP' ? 1 : 15));
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.once(s, onSignal);
  let replaced: boolean;
  try {
    removeStaleStaging(rt.paths.root);
    replaced = refuseExisting(rt, req);
    progress.report({ phase: 'prepare', step: req.source ? `making ${req.name} from ${req.source.kind}` : `making ${req.name} over ${req.layout.kind === 'base' ? req.layout.base : ''}` });
    staging = makeStaging(rt.paths.root, req.name);
    await buildRoot(rt, req, staging, progress);
    crashPoint(rt.env, 'bootstrap:built');
    if (req.layout.kind === 'disk') {
      progress.report({ phase: 'image', step: `making disk1.raw (${Math.round(req.layout.bytes / 1048576)} MiB, ext4 on partition 1)` });
      await makeDiskImage(join(staging.path, 'disk1.raw'), req.layout.bytes, join(staging.path, 'root'));
      rmSync(join(staging.path, 'root'), { recursive: true, force: true });
    }
    writeFileSync(join(staging.path, 'config'), configText(req), { mode: 0o644 });
    moveIntoPlace(rt, staging, replaced);
    staging = undefined;
  } catch (err) {
    if (staging) removeStaging(staging.path);
    throw err;
  } finally {
    for (const s of signals) process.removeListener(s, onSignal);
    lock.release();
  }
  if (req.check) {
    progress.report({ phase: 'check', step: 'booting it once (without its network) and powering it off' });
    await checkBoot(rt, req.name);
  }
  progress.report({ phase: 'done', step: 'done' });
  const what = req.layout.kind === 'disk' ? 'disk1.raw' : 'root/';
  return { name: req.name, dir: rt.paths.subhostDir(req.name), what, replaced, checked: req.check, seconds: (Date.now() - started) / 1000 };
}

/** --check: boot once without BRIDGES, power off; a subhost that does not boot is removed again. */
async function checkBoot(rt: Runtime, name: string): Promise<void> {
  const { boot } = await import('../core/lifecycle/boot');
  const { poweroff } = await import('../core/lifecycle/poweroff');
  const { release } = await import('../core/lifecycle/stop');
  // A folder of its own (mkdtemp, 0700): a fixed name in /tmp could be planted beforehand.
  const tmp = mkdtempSync(join(tmpdir(), `subhost-check-${name}-`));
  const config = join(tmp, 'config');
  writeFileSync(config, `source ${JSON.stringify(rt.paths.config(name))}\nBRIDGES=()\nADDRESSES=()\n`);
  try {
    await boot(rt, name, { configFile: config });
    const r = await poweroff(rt, name, 30);
    if (r.killed) throw new SubhostError('it did not power off within 30 s');
  } catch (err) {
    await release(rt, name).catch(() => undefined);
    rmSync(rt.paths.subhostDir(name), { recursive: true, force: true });
    throw (err instanceof SubhostError ? err : new SubhostError(String(err))).withContext(`--check: booting ${name} failed, so it was removed`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
