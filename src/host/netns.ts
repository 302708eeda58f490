import { existsSync, readdirSync, rmSync } from 'node:fs';
import { run } from './exec';
import { umount } from './mount';
import { isMountPointNow } from './mountinfo';

export const NETNS_DIR = '/run/netns';

export function netnsPath(name: string): string {
  return `${NETNS_DIR}/${name}`;
}

export function netnsExists(name: string): boolean {
  return existsSync(netnsPath(name));
}

export function listNetns(): string[] {
  try {
    return readdirSync(NETNS_DIR);
  } catch {
    return [];
  }
}

/** The namespace's file is bound to a namespace (a file there that is not holds none). */
export function netnsBound(name: string): boolean {
  return isMountPointNow(netnsPath(name));
}

/**
 * The alias of `lo` inside the namespace: subhost marks the namespaces it makes with
 * `subhost:NAME` there, since a network namespace has no label of its own.
 */
export async function netnsLoAlias(name: string): Promise<string | undefined> {
  if (!netnsExists(name)) return undefined;
  const r = await run(['ip', '-n', name, '-json', 'link', 'show', 'dev', 'lo'], { allowFailure: true });
  if (r.code !== 0) return undefined;
  try {
    return (JSON.parse(r.stdout) as { ifalias?: string }[])[0]?.ifalias ?? '';
  } catch {
    return undefined;
  }
}

/**
 * What `ip netns delete` does (detach the namespace's bind mount, remove its file), with the
 * addon's umount2(2) where it has one. The kernel frees the namespace, and every veth pair with an
 * end inside, once no process or mount holds it any more.
 */
export async function dropNetns(name: string): Promise<void> {
  const path = netnsPath(name);
  try {
    await umount(path, { lazy: true });
  } catch {
    /* not mounted (a file left by a crash): removed below all the same, as ip does */
  }
  rmSync(path, { force: true });
}
