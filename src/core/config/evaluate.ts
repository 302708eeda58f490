import { ConfigError, firstLine } from '../../errors';
import { childEnv, noteSpawn } from '../../host/exec';
import type { PipeSource } from '../../host/pipe-reader';
import { spawnGroup, type GroupChild } from '../../host/spawn-group';
import { monotonicMs } from '../../host/clock';

export const CONFIG_TIMEOUT_MS = 10_000;
/** The variables' text (declare -p) and bash's complaints are kept up to these sizes. */
export const VARIABLES_MAX_BYTES = 1 << 20;
const STDERR_MAX_BYTES = 64 << 10;
/** After bash ends, how long its pipes may take to close once its process group is killed. */
const CLOSE_MS = 2000;
/** After its process group is killed, how long we wait to see the group gone. */
const KILLED_MS = 50;
const SENTINEL = 'subhost-config-end';

/**
 * bash keeps its stdout as fd 3 and sources the file with fd 3 closed and stdout on /dev/null, then
 * writes the variables and a last line to fd 3: a config that prints is fine, and one that exits or
 * execs early lacks the last line. bash sets HOSTNAME itself at start-up, so it is unset first:
 * only the config may set it.
 */
function reader(vars: readonly string[]): string {
  return `exec 3>&1 >/dev/null; unset HOSTNAME; set -e; source "$1" 3>&-; set +e; { declare -p ${vars.join(' ')} 2>/dev/null; echo ${SENTINEL}; } >&3; exit 0`;
}

export interface EvaluateOptions {
  name: string;
  cwd: string;
  timeoutMs?: number;
}

/** Collect a stream up to max bytes; past it, call over() once and keep draining. */
function collect(s: PipeSource, max: number, over?: () => void): () => string {
  const parts: Buffer[] = [];
  let size = 0;
  s.on('data', (b: Buffer) => {
    // Past max (not at it: 16 reads of 64 KiB end exactly on 1 MiB, and the next must still count).
    if (size > max) return;
    size += b.length;
    if (size > max && over) over();
    parts.push(b);
  });
  s.on('error', () => undefined);
  return () => Buffer.concat(parts).toString().slice(0, max);
}

function closed(s: PipeSource): Promise<void> {
  return s.destroyed || s.readableEnded ? Promise.resolve() : new Promise((r) => s.once('close', () => r()));
}

/**
 * Run a config file in bash, in a process group of its own that is killed as a whole at the
 * deadline and when bash ends (a `yes`, a `sleep infinity` or a `cmd &` in it never outlives the
 * read, nor fills our memory). Resolves with the `declare -p` text of vars.
 */
export function evaluateConfig(file: string, vars: readonly string[], opts: EvaluateOptions): Promise<string> {
  const timeoutMs = opts.timeoutMs ?? CONFIG_TIMEOUT_MS;
  const fail = (why: string) => new ConfigError(`config ${file}: ${why}`);
  const started = monotonicMs();
  return new Promise<string>((resolve, reject) => {
    let problem: string | undefined;
    let child: GroupChild | undefined;
    let timer: NodeJS.Timeout | undefined;
    const stop = (why: string) => {
      problem ??= why;
      child?.killGroup();
    };
    const events = {
      error(e: Error) {
        clearTimeout(timer);
        reject(fail(`cannot run bash: ${e.message}`));
      },
      exit(code: number | null, signal: string | null) {
        clearTimeout(timer);
        noteSpawn(['bash', 'config', file], monotonicMs() - started);
        // Whatever it left running in the background goes with it.
        child!.killGroup();
        const pipes = [child!.stdout, child!.stderr];
        const late = setTimeout(() => pipes.forEach((p) => p.destroy()), CLOSE_MS);
        // A killed process dies a moment after kill(2) returns; a zombie runs nothing but stays in the group until init reaps it.
        void Promise.all([...pipes.map(closed), child!.groupGone(KILLED_MS)]).then(() => {
          clearTimeout(late);
          if (problem) return reject(fail(problem));
          if (code !== 0) {
            const why = firstLine(stderr()) || (signal ? `bash was killed by ${signal}` : `bash exited with status ${code}`);
            return reject(fail(`fails in bash: ${why.replace(/^subhost-config: /, '').replace(/^\S*config: /, '')}`));
          }
          const out = text();
          if (!out.endsWith(`\n${SENTINEL}\n`) && out !== `${SENTINEL}\n`) return reject(fail('ended before its last line (an exit or exec in it?): its variables cannot be read'));
          resolve(out.slice(0, out.length - SENTINEL.length - 1));
        });
      },
    };
    const argv = ['bash', '--noprofile', '--norc', '-c', reader(vars), 'subhost-config', file];
    try {
      child = spawnGroup(argv, childEnv({ SUBHOST_NAME: opts.name, HOME: '/', LC_ALL: undefined }, true), opts.cwd, events);
    } catch (e) {
      return reject(fail(`cannot run bash: ${(e as Error).message}`));
    }
    const stderr = collect(child.stderr, STDERR_MAX_BYTES);
    const text = collect(child.stdout, VARIABLES_MAX_BYTES, () => stop(`its variables exceed ${VARIABLES_MAX_BYTES >> 20} MiB`));
    timer = setTimeout(() => stop(`did not finish within ${timeoutMs / 1000} s (a config only sets variables)`), timeoutMs);
  });
}
