import { writeFd } from '../std-streams';

/** Everything the CLI prints goes through here, so commands stay easy to test. */
export function out(line = ''): void {
  writeFd(1, line + '\n');
}

export function warn(line: string): void {
  writeFd(2, `subhost: warning: ${line}\n`);
}

export function printJson(value: unknown): void {
  writeFd(1, JSON.stringify(value, null, 2) + '\n');
}
