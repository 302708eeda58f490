import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../src/host/exec';
import type { BenchWorld } from './fixture';
import { figure, type Figure } from './figures';
import { must, timed } from './run';

const POLICY_RC_D = '/usr/sbin/policy-rc.d';

/**
 * Debian packages of the tools we compare with, installed with their services kept stopped: while
 * apt-get runs, a policy-rc.d that refuses every start (exit 101), unless the host has its own.
 */
async function installPeers(): Promise<string | undefined> {
  if (existsSync('/usr/bin/lxc-start') && existsSync('/usr/bin/systemd-nspawn')) return undefined;
  let ours = true;
  try {
    writeFileSync(POLICY_RC_D, '#!/bin/sh\n# subhost bench: no service starts while it installs lxc and systemd-container\nexit 101\n', { mode: 0o755, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    ours = false;
  }
  try {
    const env = { DEBIAN_FRONTEND: 'noninteractive' };
    const install = () => run(['apt-get', 'install', '-y', '-q', '--no-install-recommends', 'lxc', 'systemd-container'], { env, allowFailure: true, timeoutMs: 600_000 });
    let r = await install();
    // A fresh host may have no package lists yet.
    if (r.code !== 0 && (await run(['apt-get', 'update', '-q'], { env, allowFailure: true, timeoutMs: 600_000 })).code === 0) r = await install();
    return r.code === 0 ? undefined : `apt-get install lxc systemd-container failed: ${r.stderr.trim().split('\n').pop()}`;
  } finally {
    if (ours) rmSync(POLICY_RC_D, { force: true });
  }
}

/**
 * The same image under lxc-start (rootfs from the mounted partition, veth on the same bridge)
 * and systemd-nspawn (--keep-unit --network-bridge), with ratios to subhost's own figures.
 */
export async function benchPeers(w: BenchWorld, runs: number, ours: Figure[]): Promise<Figure[]> {
  const why = await installPeers();
  if (why) return [figure('peers', 'lxc and systemd-nspawn', 'ms', [], undefined, why)];
  const image = join(w.root, await w.makeSubhost(900), 'disk.raw');
  const rootfs = join(w.root, 'peer-rootfs');
  mkdirSync(rootfs, { recursive: true });
  const { stdout } = await run(['losetup', '--find', '--show', '--offset', String(1024 * 1024), image]);
  const loop = stdout.trim();
  const out: Figure[] = [];
  try {
    await run(['mount', loop, rootfs]);
    out.push(...lxc(w, rootfs, runs), ...nspawn(w, rootfs, runs));
  } finally {
    await run(['umount', rootfs], { allowFailure: true });
    await run(['losetup', '--detach', loop], { allowFailure: true });
  }
  const med = (id: string) => [...ours, ...out].find((f) => f.id === id)?.median ?? NaN;
  const cycle = med('boot') + med('stop');
  out.push(
    figure('cycle-lxc', 'subhost boot+stop / lxc-start+lxc-stop (medians)', 'x', [cycle / (med('lxc-start') + med('lxc-stop'))], 3),
    figure('ratio-lxc', 'lxc start+stop / subhost boot+stop (medians)', 'x', [(med('lxc-start') + med('lxc-stop')) / cycle]),
    figure('ratio-nspawn', 'nspawn start-exit cycle / subhost boot+stop (medians)', 'x', [med('nspawn-cycle') / cycle]),
  );
  return out;
}

function lxc(w: BenchWorld, rootfs: string, runs: number): Figure[] {
  const lxcpath = join(w.root, 'lxc');
  const ct = `${w.prefix}lxc`;
  mkdirSync(join(lxcpath, ct), { recursive: true });
  const config = join(lxcpath, ct, 'config');
  writeFileSync(
    config,
    [`lxc.uts.name = ${ct}`, `lxc.rootfs.path = dir:${rootfs}`, 'lxc.net.0.type = veth', `lxc.net.0.link = ${w.bridge}`, 'lxc.net.0.flags = up', `lxc.net.0.veth.pair = ${ct}0`, 'lxc.init.cmd = /sbin/init', 'lxc.apparmor.profile = unconfined', ''].join('\n'),
  );
  const start: number[] = [];
  const stop: number[] = [];
  for (let i = 0; i < runs; i++) {
    start.push(must(['lxc-start', '-P', lxcpath, '-n', ct, '-f', config, '-d']).ms);
    stop.push(must(['lxc-stop', '-P', lxcpath, '-n', ct, '-k']).ms);
  }
  return [figure('lxc-start', '`lxc-start -d` (same image, veth on the bridge)', 'ms', start), figure('lxc-stop', '`lxc-stop -k`', 'ms', stop)];
}

function nspawn(w: BenchWorld, rootfs: string, runs: number): Figure[] {
  const cycle: number[] = [];
  let note: string | undefined;
  for (let i = 0; i < runs; i++) {
    const r = timed(['systemd-nspawn', '--quiet', '--keep-unit', '--register=no', `--network-bridge=${w.bridge}`, '-D', rootfs, '/bin/true']);
    if (r.code !== 0) {
      note = `unavailable here: ${r.stderr.trim().split('\n').pop()}`;
      break;
    }
    cycle.push(r.ms);
  }
  return [figure('nspawn-cycle', '`systemd-nspawn --keep-unit --network-bridge` start-exit cycle', 'ms', cycle, undefined, note)];
}
