import { mkdirSync, openSync, readFileSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';

/** A console log is rotated at this size by the supervisor (native/bpf/supervisor.c). */
export const LOG_MAX_BYTES = 256 * 1024;

/** Start a fresh console log; the previous boot's stays as NAME.log.1. */
export function rotateLog(log: string): number {
  mkdirSync(dirname(log), { recursive: true, mode: 0o750 });
  try {
    renameSync(log, `${log}.1`);
  } catch {
    /* first boot */
  }
  return openSync(log, 'a', 0o640);
}

/** The last lines of a console log, for an error message. */
export function tailOf(file: string, lines: number): string[] {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines);
  } catch {
    return [];
  }
}
