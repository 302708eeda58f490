import { isAbsolute, resolve } from 'node:path';
import { ConfigError } from '../../errors';
import { deriveMac, macProblem, parseMac } from './mac';
import { isValidHostname } from './names';
import { isValidIfname } from '../../host/ip';
import { parseAddresses } from './addresses';
import { CPU_PERIOD_US } from '../cgroups/limits';
import type { BridgeSpec, ConfigVar, DiskSpec, Limits, RawConfig, SubhostConfig } from './types';

const DEV_RE = /^[a-z][a-z0-9]{0,15}$/;

function fail(what: string, value: string | undefined, why: string): never {
  throw new ConfigError(value === undefined ? `${what}: ${why}` : `${what} (${JSON.stringify(value)}): ${why}`);
}

function list(raw: RawConfig, key: ConfigVar): string[] {
  const v = raw[key];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

function scalar(raw: RawConfig, key: ConfigVar): string | undefined {
  const v = raw[key];
  if (v === undefined) return undefined;
  if (Array.isArray(v)) fail(key, v.join(' '), 'must be a plain string, not an array');
  return v === '' ? undefined : v;
}

export function parseDisks(elements: string[], baseDir: string): DiskSpec[] {
  const seen = new Map<string, number>();
  return elements.map((element, i) => {
    const what = `DISKS[${i}]`;
    const parts = element.split(':');
    if (parts.length < 3) fail(what, element, 'expected dev:part:image');
    const [dev, partText, ...rest] = parts;
    const image = rest.join(':');
    if (!DEV_RE.test(dev)) fail(what, element, `device name ${JSON.stringify(dev)} must be a-z then a-z/0-9, at most 16 characters (e.g. vda)`);
    if (!/^\d{1,3}$/.test(partText) || Number(partText) > 255) fail(what, element, `partition index ${JSON.stringify(partText)} must be a number from 0 (whole image) to 255`);
    if (image === '') fail(what, element, 'the image path is empty');
    const part = Number(partText);
    const node = `${dev}${part === 0 ? '' : part}`;
    const prev = seen.get(node);
    if (prev !== undefined) fail(what, element, `device /dev/${node} is already declared by DISKS[${prev}]`);
    seen.set(node, i);
    return { dev, part, image: isAbsolute(image) ? resolve(image) : resolve(baseDir, image) };
  });
}

/**
 * Host links are NAME0 … NAME9: one digit, so that two subhosts' link names can never be the same
 * (with NAME1 + "1" and NAME + "11" allowed, `web1`'s 2nd and `web`'s 12th would both be web11).
 */
export const MAX_BRIDGES = 10;

export function parseBridges(elements: string[], name: string): BridgeSpec[] {
  if (elements.length > MAX_BRIDGES) {
    fail(`BRIDGES[${MAX_BRIDGES}]`, elements[MAX_BRIDGES], `at most ${MAX_BRIDGES} interfaces: host links are ${name}0 to ${name}9, one digit, so that no two subhosts' link names can collide`);
  }
  const macs = new Map<string, number>();
  return elements.map((element, i) => {
    const what = `BRIDGES[${i}]`;
    const colon = element.indexOf(':');
    const bridge = colon < 0 ? element : element.slice(0, colon);
    const macText = colon < 0 ? '' : element.slice(colon + 1);
    if (!isValidIfname(bridge)) fail(what, element, `bridge name ${JSON.stringify(bridge)} is not a valid interface name`);
    let mac: string;
    if (macText === '') mac = deriveMac(name, i);
    else {
      const parsed = parseMac(macText);
      if (!parsed) fail(what, element, `MAC ${JSON.stringify(macText)} is malformed (expected six hex pairs like 02:a7:dd:b4:02:f2)`);
      const problem = macProblem(parsed);
      if (problem) fail(what, element, `MAC ${parsed} is ${problem}`);
      mac = parsed;
    }
    const prev = macs.get(mac);
    if (prev !== undefined) fail(what, element, `MAC ${mac} is also used by BRIDGES[${prev}]`);
    macs.set(mac, i);
    return { bridge, mac, derivedMac: macText === '' };
  });
}

/** pids.max takes at most PID_MAX_LIMIT (4 Mi on 64-bit kernels). */
export const PIDS_MAX = 4 * 1024 * 1024;
/** The largest byte count a JavaScript number holds exactly (8 PiB, beyond any host's memory). */
export const MEMORY_MAX = Number.MAX_SAFE_INTEGER;
/** cpu.max and cpu.cfs_quota_us refuse a quota under 1000 µs. */
export const CPU_QUOTA_MIN_US = 1000;

const SIZE_UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

export function parseSize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)([KMGT]?)(?:i?B)?$/i.exec(text.trim());
  if (!m) return undefined;
  const bytes = Math.floor(Number(m[1]) * SIZE_UNITS[m[2].toUpperCase()]);
  return bytes > 0 ? bytes : undefined;
}

export function parseLimits(raw: RawConfig): Limits {
  const limits: Limits = {};
  const cpus = scalar(raw, 'CPUS');
  if (cpus !== undefined) {
    if (!/^\d+(\.\d+)?$/.test(cpus) || Number(cpus) <= 0 || Number(cpus) > 4096) fail('CPUS', cpus, 'must be a positive number of CPUs, e.g. 1.5');
    // The kernel's smallest quota is 1 ms per period: below it, the limit would silently be raised.
    if (Math.round(Number(cpus) * CPU_PERIOD_US) < CPU_QUOTA_MIN_US) fail('CPUS', cpus, `must be at least ${CPU_QUOTA_MIN_US / CPU_PERIOD_US} (the kernel's smallest CPU quota, ${CPU_QUOTA_MIN_US / 1000} ms per ${CPU_PERIOD_US / 1000} ms)`);
    limits.cpus = Number(cpus);
  }
  const memory = scalar(raw, 'MEMORY');
  if (memory !== undefined) {
    const bytes = parseSize(memory);
    if (bytes === undefined || bytes < 1024 * 1024) fail('MEMORY', memory, 'must be a size of at least 1M, e.g. 512M or 2G');
    if (bytes > MEMORY_MAX) fail('MEMORY', memory, 'must be at most 8P (a larger number cannot be written exactly; omit MEMORY for no limit)');
    limits.memory = bytes;
  }
  const pids = scalar(raw, 'PIDS');
  if (pids !== undefined) {
    if (!/^\d+$/.test(pids) || Number(pids) < 1) fail('PIDS', pids, 'must be a whole number of at least 1');
    if (Number(pids) > PIDS_MAX) fail('PIDS', pids, `must be at most ${PIDS_MAX} (the kernel's PID_MAX_LIMIT; omit PIDS for no limit)`);
    limits.pids = Number(pids);
  }
  const io = scalar(raw, 'IO_WEIGHT');
  if (io !== undefined) {
    if (!/^\d+$/.test(io) || Number(io) < 1 || Number(io) > 10000) fail('IO_WEIGHT', io, 'must be a whole number from 1 to 10000');
    limits.ioWeight = Number(io);
  }
  return limits;
}

function yesNo(raw: RawConfig, key: ConfigVar): boolean {
  const v = scalar(raw, key);
  if (v === undefined) return false;
  if (/^(yes|true|1|on)$/i.test(v)) return true;
  if (/^(no|false|0|off)$/i.test(v)) return false;
  return fail(key, v, 'must be yes or no');
}

/** Turn raw variables into a typed config; every error names the variable, the element and why. */
export function validateConfig(name: string, raw: RawConfig, subhostDir: string, origin: { file?: string; fromEnv: string[] } = { fromEnv: [] }): SubhostConfig {
  const disks = parseDisks(list(raw, 'DISKS'), subhostDir);
  const bridges = parseBridges(list(raw, 'BRIDGES'), name);
  const addresses = parseAddresses(list(raw, 'ADDRESSES'), bridges.length, fail);
  const baseText = scalar(raw, 'BASE');
  if (baseText !== undefined && !isAbsolute(baseText)) fail('BASE', baseText, 'must be an absolute path');
  if (baseText !== undefined && disks.length > 0) fail('BASE', baseText, 'cannot be combined with DISKS (BASE is for overlay subhosts)');
  const set = scalar(raw, 'HOSTNAME');
  // Unset, it is NAME as it is (any NAME is a host name the kernel takes): never refused as a HOSTNAME nobody wrote.
  if (set !== undefined && !isValidHostname(set)) fail('HOSTNAME', set, 'is not a valid host name (a-z, 0-9 and -, dot-separated labels)');
  const hostname = set ?? name;
  return {
    name,
    disks,
    bridges,
    addresses,
    base: baseText === undefined ? undefined : resolve(baseText),
    hostname,
    limits: parseLimits(raw),
    autostart: yesNo(raw, 'AUTOSTART'),
    tun: yesNo(raw, 'TUN'),
    file: origin.file,
    fromEnv: origin.fromEnv,
  };
}
