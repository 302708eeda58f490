import { spawn, type ChildProcess } from 'node:child_process';
import { isatty } from 'node:tty';
import { SubhostError } from '../../errors';
import { exitStatus } from '../../host/proc';
import { setprivArgs } from '../guest/capabilities';
import { checkName } from '../config/names';
import { subhostCgroupSet } from '../cgroups/subhost-cgroups';
import type { Runtime } from '../state/runtime';
import { known } from '../state/active';

const GUEST_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const DEFAULT_SHELL = ['/bin/sh', '-c', 'if [ -x /bin/bash ]; then exec /bin/bash -l; fi; exec /bin/sh -l'];
const FORWARDED = ['SIGINT', 'SIGQUIT', 'SIGTERM', 'SIGHUP'] as const;
/** How long output still in the pipes is relayed after the command ended (a daemon it started may hold them). */
const DRAIN_MS = 500;

/** argv that joins NAME's cgroups, drops the same capabilities as PID 1 and enters all its namespaces. */
export function enterArgv(procsFiles: string[], pid1: number, cmd: string[], term: string | undefined): string[] {
  return [
    '/bin/sh',
    '-c',
    'for f in $1; do echo $$ >"$f" || exit 125; done; shift; exec "$@"',
    'subhost-enter',
    procsFiles.join(' '),
    'setpriv',
    ...setprivArgs(),
    '--',
    'env',
    '-i',
    'HOME=/root',
    `TERM=${term ?? 'dumb'}`,
    `PATH=${GUEST_PATH}`,
    'container=subhost',
    'nsenter',
    `--target=${pid1}`,
    '--mount',
    '--uts',
    '--ipc',
    '--net',
    '--pid',
    '--cgroup',
    '--root',
    '--wd',
    '--',
    ...(cmd.length ? cmd : DEFAULT_SHELL),
  ];
}

/** One word for sh -c, whatever it holds. */
export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * The guest never gets the caller's terminal or descriptors (TIOCSTI would push input into the
 * caller's shell; a descriptor leads onto the host): on a terminal, script(1) gives the command a
 * new pty of its own as the controlling terminal of a new session; otherwise plain pipes, relayed
 * here, in a new session without a terminal.
 */
function spawnInside(argv: string[], onTerminal: boolean): ChildProcess {
  const env = { PATH: GUEST_PATH, LC_ALL: 'C', SHELL: '/bin/sh' };
  if (onTerminal) return spawn('script', ['--quiet', '--return', '--command', argv.map(shellQuote).join(' '), '/dev/null'], { stdio: 'inherit', env });
  const child = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], env, detached: true });
  child.stdin!.on('error', () => undefined);
  process.stdin.on('error', () => undefined);
  process.stdin.pipe(child.stdin!);
  child.stdout!.pipe(process.stdout);
  child.stderr!.pipe(process.stderr);
  return child;
}

function ended(child: ChildProcess, onTerminal: boolean): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    child.on('error', (e) => reject(e));
    child.on('exit', (code, signal) => {
      const status = exitStatus(code, signal);
      if (onTerminal) return resolve(status);
      process.stdin.unpipe();
      process.stdin.destroy();
      const drained = [child.stdout!, child.stderr!].map((s) => new Promise((r) => (s.readableEnded || s.destroyed ? r(null) : s.once('close', r))));
      const timer = setTimeout(() => {
        child.stdout!.destroy();
        child.stderr!.destroy();
      }, DRAIN_MS);
      void Promise.all(drained).then(() => {
        clearTimeout(timer);
        resolve(status);
      });
    });
  });
}

/** `subhost enter NAME [-- CMD...]`: resolves with CMD's exit status. */
export async function enter(rt: Runtime, name: string, cmd: string[]): Promise<number> {
  checkName(name);
  const { record: rec, derived: d } = known(rt, name);
  if (!rec || d.state !== 'running' || !rec.pid1) throw new SubhostError(`subhost ${name} is not running (it is ${d.state})`);
  const argv = enterArgv(subhostCgroupSet(rt.cgroupMount, name).procsFiles(), rec.pid1.pid, cmd, rt.env.TERM);
  const onTerminal = isatty(0);
  let child: ChildProcess | undefined;
  // On a terminal its signals reach the command through the pty; from a pipe, we pass them on.
  const forward = (s: NodeJS.Signals) => {
    if (!onTerminal && child?.pid) {
      try {
        process.kill(-child.pid, s);
      } catch {
        /* already gone */
      }
    }
  };
  for (const s of FORWARDED) process.on(s, forward);
  try {
    child = spawnInside(argv, onTerminal);
    return await ended(child, onTerminal);
  } catch (e) {
    throw new SubhostError(`entering ${name}: ${(e as Error).message}`);
  } finally {
    for (const s of FORWARDED) process.off(s, forward);
  }
}
