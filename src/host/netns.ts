import { existsSync, readdirSync } from 'node:fs';
import { run } from './exec';

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

export async function deleteNetns(name: string): Promise<void> {
  if (netnsExists(name)) await run(['ip', 'netns', 'delete', name]);
}
