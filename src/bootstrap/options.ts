import { existsSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { addressProblem, parseAddress, type InterfaceAddress } from '../core/config/addresses';
import { parseBridges, parseSize } from '../core/config/validate';
import { checkName, isValidHostname } from '../core/config/names';
import { ConfigError, UsageError } from '../errors';

export const DEFAULT_SUITE = 'bookworm';
export const DEFAULT_DISK = '2G';
const MiB = 1024 * 1024;

export type Source = { kind: 'busybox' } | { kind: 'debian'; suite: string };
export type RootLayout = { kind: 'disk'; bytes: number } | { kind: 'dir' } | { kind: 'base'; base: string };
export type ProgressMode = 'auto' | 'plain' | 'json' | 'none';

export interface StaticAddress extends InterfaceAddress {
  gateway?: string;
}

/** A bootstrap request, checked: nothing here touches the host. */
export interface BootstrapRequest {
  name: string;
  /** Absent with --base: the overlay's root comes from BASE. */
  source?: Source;
  layout: RootLayout;
  /** BRIDGES elements as the operator gave them. */
  bridges: string[];
  hostname: string;
  /** One per bridge: a static address, or undefined for DHCP. */
  addresses: (StaticAddress | undefined)[];
  packages: string[];
  mirror?: string;
  force: boolean;
  check: boolean;
  progress: ProgressMode;
}

export interface BootstrapFlags {
  from?: string;
  disk?: string | boolean;
  dir?: boolean;
  base?: string;
  bridge?: string[];
  hostname?: string;
  address?: string[];
  packages?: string;
  mirror?: string;
  force?: boolean;
  check?: boolean;
  progress?: string;
}

const PACKAGE_RE = /^[a-z0-9][a-z0-9+.-]+$/;

export function parseSource(from: string, debootstrapScripts = '/usr/share/debootstrap/scripts'): Source {
  if (from === 'busybox') return { kind: 'busybox' };
  const m = /^debian(?::(.*))?$/.exec(from);
  if (!m) throw new UsageError(`--from ${from}: expected busybox or debian[:SUITE]`);
  const suite = m[1] ?? DEFAULT_SUITE;
  if (!/^[a-z][a-z0-9-]*$/.test(suite)) throw new UsageError(`--from ${from}: ${JSON.stringify(suite)} is not a suite name (e.g. bookworm)`);
  if (existsSync(debootstrapScripts) && !existsSync(`${debootstrapScripts}/${suite}`)) {
    throw new UsageError(`--from ${from}: debootstrap does not know the suite ${suite} (it has ${debootstrapScripts}/<suite> for each it knows)`);
  }
  return { kind: 'debian', suite };
}

export function parseMirror(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError(`--mirror ${url}: not a URL (e.g. http://deb.debian.org/debian)`);
  }
  if (!['http:', 'https:', 'file:'].includes(u.protocol)) throw new UsageError(`--mirror ${url}: debootstrap takes http://, https:// or file:// mirrors`);
  if (u.protocol !== 'file:' && !u.hostname) throw new UsageError(`--mirror ${url}: no host name`);
  return url.replace(/\/+$/, '');
}

function parseStatic(text: string): StaticAddress | undefined {
  if (text === 'dhcp' || text === '-') return undefined;
  const [cidr, gateway, ...rest] = text.split(',');
  const problem = rest.length ? 'expected CIDR[,GATEWAY]' : addressProblem(cidr);
  if (problem) throw new UsageError(`--address ${text}: ${problem}`);
  const a = parseAddress(cidr);
  if (gateway !== undefined && addressProblem(`${gateway}/32`)) throw new UsageError(`--address ${text}: gateway ${gateway} is not an IPv4 host address`);
  if (gateway === a.ip) throw new UsageError(`--address ${text}: the gateway is the address itself`);
  return { ...a, gateway };
}

function parseLayout(f: BootstrapFlags): RootLayout {
  const chosen = [f.disk !== undefined && '--disk', f.dir && '--dir', f.base !== undefined && '--base'].filter(Boolean);
  if (chosen.length > 1) throw new UsageError(`${chosen.join(' and ')}: choose one of --disk, --dir and --base`);
  if (f.dir) return { kind: 'dir' };
  if (f.base !== undefined) {
    if (!isAbsolute(f.base)) throw new UsageError(`--base ${f.base}: must be an absolute path`);
    if (!existsSync(f.base) || !statSync(f.base).isDirectory()) throw new ConfigError(`--base ${f.base}: not a folder`);
    return { kind: 'base', base: resolve(f.base) };
  }
  const size = typeof f.disk === 'string' ? f.disk : DEFAULT_DISK;
  const bytes = parseSize(size);
  if (bytes === undefined) throw new UsageError(`--disk ${size}: not a size (e.g. 2G, 512M)`);
  if (bytes < 32 * MiB) throw new UsageError(`--disk ${size}: too small (at least 32M)`);
  if (bytes > 16 * 1024 ** 4) throw new UsageError(`--disk ${size}: larger than 16T`);
  return { kind: 'disk', bytes: Math.floor(bytes / MiB) * MiB };
}

/** Every option checked before anything is made; a bad one is one line and exit 2. */
export function parseRequest(name: string, f: BootstrapFlags): BootstrapRequest {
  checkName(name);
  const layout = parseLayout(f);
  if (f.from === undefined && layout.kind !== 'base') throw new UsageError('--from is required: busybox or debian[:SUITE] (only --base needs none)');
  // An overlay's root is BASE: a --from would be ignored, and its config would say it came from there.
  if (f.from !== undefined && layout.kind === 'base') throw new UsageError(`--from ${f.from} and --base: an overlay's root is BASE, so it takes no --from`);
  const source = f.from === undefined ? undefined : parseSource(f.from);
  const bridges = f.bridge ?? [];
  try {
    parseBridges(bridges, name);
  } catch (err) {
    throw new UsageError(`--bridge: ${(err as Error).message.replace(/^BRIDGES/, 'element ')}`);
  }
  const addresses = (f.address ?? []).map((a) => parseStatic(a));
  if (addresses.length > bridges.length) throw new UsageError(`--address: ${addresses.length} given for ${bridges.length} --bridge: one per bridge, in order`);
  const hostname = f.hostname ?? name;
  if (!isValidHostname(hostname)) throw new UsageError(`--hostname ${hostname}: not a valid host name`);
  const packages = (f.packages ?? '').split(',').map((p) => p.trim()).filter(Boolean);
  for (const p of packages) if (!PACKAGE_RE.test(p)) throw new UsageError(`--packages: ${JSON.stringify(p)} is not a Debian package name`);
  if (packages.length && source?.kind !== 'debian') throw new UsageError('--packages: only with --from debian');
  if (f.mirror !== undefined && source?.kind !== 'debian') throw new UsageError('--mirror: only with --from debian');
  const progress = (f.progress ?? 'auto') as ProgressMode;
  if (!['auto', 'plain', 'json', 'none'].includes(progress)) throw new UsageError(`--progress ${f.progress}: expected auto, plain, json or none`);
  return {
    name,
    source,
    layout,
    bridges,
    hostname,
    addresses: bridges.map((_, i) => addresses[i]),
    packages,
    mirror: f.mirror === undefined ? undefined : parseMirror(f.mirror),
    force: !!f.force,
    check: !!f.check,
    progress,
  };
}
