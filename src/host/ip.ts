import { existsSync, readFileSync } from 'node:fs';
import { noteCall, nativeNetnsAddresses, run } from './exec';
import { netnsPath } from './netns';

export interface AddrInfo {
  ifname: string;
  addr_info?: { family: string; local: string; prefixlen: number; scope?: string }[];
}

/** Several ip commands in one process: `ip -batch -` (one line per command). */
export async function ipBatch(lines: string[]): Promise<void> {
  if (lines.length === 0) return;
  await run(['ip', '-batch', '-'], { input: lines.join('\n') + '\n' });
}

/** Like ipBatch, but keeps going past failures (teardown must remove what it can). */
export async function ipBatchForce(lines: string[]): Promise<string> {
  if (lines.length === 0) return '';
  const r = await run(['ip', '-force', '-batch', '-'], { input: lines.join('\n') + '\n', allowFailure: true });
  return r.stderr;
}

export async function listAddrs(netns?: string): Promise<AddrInfo[]> {
  const { stdout } = await run(['ip', ...(netns ? ['-n', netns] : []), '-json', 'addr', 'show']);
  return stdout.trim() ? (JSON.parse(stdout) as AddrInfo[]) : [];
}

/** The addon's lines "IFNAME FAMILY LOCAL PREFIXLEN SCOPE" as `ip -json addr show` gives them (links without an address left out). */
function addrsFromLines(text: string): AddrInfo[] {
  const byName = new Map<string, AddrInfo>();
  for (const line of text.split('\n')) {
    const [ifname, family, local, prefixlen, scope] = line.split(' ');
    if (!scope) continue;
    let link = byName.get(ifname);
    if (!link) byName.set(ifname, (link = { ifname, addr_info: [] }));
    link.addr_info!.push({ family, local, prefixlen: Number(prefixlen), scope });
  }
  return [...byName.values()];
}

/**
 * The addresses inside each of the named namespaces (undefined where one cannot be entered: it went
 * away meanwhile): one netlink dump in each, on one thread of the addon's, not an `ip -n` process each.
 */
export async function listAddrsIn(names: string[]): Promise<Map<string, AddrInfo[] | undefined>> {
  const calls = nativeNetnsAddresses();
  if (!calls) {
    const each = await Promise.all(names.map((n) => listAddrs(n).catch(() => undefined)));
    return new Map(names.map((n, i) => [n, each[i]]));
  }
  if (!names.length) return new Map();
  const texts = await noteCall(['ip', '-n', names.length === 1 ? names[0] : `(${names.length} namespaces)`, 'addr', 'show'], () => calls.netnsAddresses(names.map(netnsPath)));
  return new Map(names.map((n, i) => [n, typeof texts[i] === 'string' ? addrsFromLines(texts[i] as string) : undefined]));
}

/** Read from sysfs: no process, and true only for a bridge (not any link). */
export function isBridge(name: string): boolean {
  return existsSync(`/sys/class/net/${name}/bridge`);
}

export function linkExists(name: string): boolean {
  return existsSync(`/sys/class/net/${name}`);
}

/**
 * Waits until none of links exists on the host, looking in sysfs 1, 2, 4 and then every 8 ms;
 * returns those still there after limitMs.
 */
export async function waitLinksGone(links: string[], limitMs: number): Promise<string[]> {
  const deadline = Date.now() + limitMs;
  let pause = 1;
  for (;;) {
    const left = links.filter(linkExists);
    if (!left.length || Date.now() >= deadline) return left;
    await new Promise((resolve) => setTimeout(resolve, Math.min(pause, Math.max(1, deadline - Date.now()))));
    pause = Math.min(pause * 2, 8);
  }
}

export function linkMaster(name: string): string | undefined {
  try {
    return readFileSync(`/sys/class/net/${name}/master/uevent`, 'utf8').match(/^INTERFACE=(.*)$/m)?.[1];
  } catch {
    return undefined;
  }
}

/** A valid interface name for the kernel: 1-15 bytes, no '/', ':' or whitespace. */
export function isValidIfname(name: string): boolean {
  return /^[A-Za-z0-9_.@-]{1,15}$/.test(name) && name !== '.' && name !== '..';
}

/** The ifalias of a link in this namespace (how subhost marks the links it made). */
export function readIfalias(ifname: string): string | undefined {
  try {
    return readFileSync(`/sys/class/net/${ifname}/ifalias`, 'utf8').trim();
  } catch {
    return undefined;
  }
}
