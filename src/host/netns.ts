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

export async function deleteNetns(name: string): Promise<void> {
  if (netnsExists(name)) await run(['ip', 'netns', 'delete', name]);
}
