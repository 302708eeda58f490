import { existsSync, readFileSync } from 'node:fs';
import { run } from './exec';

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
