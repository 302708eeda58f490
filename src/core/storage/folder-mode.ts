import { realpathSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from '../../errors';

const S_IXOTH = 0o001;

/**
 * The folders from dir up to / that other users can search (x for others), or undefined when one
 * of them stops them. A host user who reaches NAME/live could run the guest's setuid programs or
 * open its device nodes, were the mounts not nosuid,nodev: the folder is the second wall.
 */
export function reachableByOthers(dir: string): string[] | undefined {
  const chain: string[] = [];
  for (let d = realpathSync(dir); ; d = dirname(d)) {
    if ((statSync(d).mode & S_IXOTH) === 0) return undefined;
    chain.push(d);
    if (d === '/') return chain;
  }
}

/** Refuse a subhost folder that other users can traverse, saying which mode is wanted. */
export function checkFolderMode(dir: string): void {
  let open: string[] | undefined;
  try {
    open = reachableByOthers(dir);
  } catch {
    return; // a missing folder is the layout check's to report
  }
  if (!open) return;
  const mode = (statSync(dir).mode & 0o7777).toString(8).padStart(4, '0');
  throw new ConfigError(`subhost folder ${dir}: other users can traverse it (mode ${mode}, and every folder above it too): make it 0700 or 0750 (chmod o-rwx ${dir})`);
}
