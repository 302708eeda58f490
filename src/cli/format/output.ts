import { writeFd } from '../std-streams';

/** Everything the CLI prints goes through here, so commands stay easy to test. */
export function out(line = ''): void {
  writeFd(1, line + '\n');
}

/** Text as it is (already ending in its newline: a generated file, Prometheus' format). */
export function outText(text: string): void {
  writeFd(1, text);
}

/** A line on stderr, as given (a failure among others that went on, a progress line). */
export function errLine(line: string): void {
  writeFd(2, `${line}\n`);
}

export function warn(line: string): void {
  writeFd(2, `subhost: warning: ${line}\n`);
}

export function printJson(value: unknown): void {
  writeFd(1, JSON.stringify(value, null, 2) + '\n');
}
