import { readFileSync } from 'node:fs';

/** A kernel or state file's text, or undefined when it is not there (or not readable): never throws. */
export function readFileOr(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}
