/** Errors the CLI turns into one line on stderr and an exit code (caught once, in cli/main). */
export class SubhostError extends Error {
  exitCode = 1;
  /** Extra lines shown only with --verbose. */
  details: string[] = [];

  constructor(message: string, options?: { cause?: unknown; details?: string[] }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SubhostError';
    if (options?.details) this.details = options.details;
  }

  /** Prepend what we were doing as the error rises ("attaching veth a0 to br0: ..."). */
  withContext(context: string): this {
    this.message = `${context}: ${this.message}`;
    return this;
  }
}

/** Bad usage or bad input: exit 2 for usage, like every CLI. */
export class UsageError extends SubhostError {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
    this.exitCode = 2;
  }
}

/** A configuration or input that cannot work: exit 1, one line naming what and why. */
export class ConfigError extends SubhostError {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** An external program failed: keeps argv, exit status and stderr for the message. */
export class CommandError extends SubhostError {
  constructor(
    readonly argv: readonly string[],
    readonly code: number | null,
    readonly signal: string | null,
    readonly stderr: string,
  ) {
    const why = firstLine(stderr) || (signal ? `killed by ${signal}` : `exit status ${code}`);
    // Most tools already start their message with their own name (mount: ...): say it once.
    const name = argv[0].split('/').pop()!;
    super(why.startsWith(`${name}: `) ? why : `${name}: ${why}`, { details: [`command: ${argv.map(quoteArg).join(' ')}`, ...stderr.trim().split('\n').slice(1)] });
    this.name = 'CommandError';
  }
}

export function firstLine(text: string): string {
  const line = text.split('\n').find((l) => l.trim() !== '');
  return line === undefined ? '' : line.trim();
}

export function quoteArg(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** Run fn; if it throws a SubhostError, prepend context; anything else is wrapped. */
export async function withContext<T>(context: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw asSubhostError(err).withContext(context);
  }
}

export function asSubhostError(err: unknown): SubhostError {
  if (err instanceof SubhostError) return err;
  if (err instanceof Error) {
    const e = new SubhostError(err.message, { cause: err });
    e.stack = err.stack;
    return e;
  }
  return new SubhostError(String(err));
}

/** errno code of a node fs error, if any. */
export function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}
