/** Everything the CLI prints goes through here, so commands stay easy to test. */
export function out(line = ''): void {
  process.stdout.write(line + '\n');
}

export function warn(line: string): void {
  process.stderr.write(`subhost: warning: ${line}\n`);
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}
