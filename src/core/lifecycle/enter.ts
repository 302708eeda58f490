import { spawn } from 'node:child_process';
import { SubhostError } from '../../errors';
import { exitStatus } from '../../host/proc';
import { boundingSetArg } from '../capabilities';
import { checkName } from '../names';
import { subhostCgroupSet } from '../subhost-cgroups';
import type { Runtime } from '../runtime';
import { known } from './active';

const GUEST_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const DEFAULT_SHELL = ['/bin/sh', '-c', 'if [ -x /bin/bash ]; then exec /bin/bash -l; fi; exec /bin/sh -l'];

/** argv that joins NAME's cgroups, drops the same capabilities as PID 1 and enters all its namespaces. */
export function enterArgv(procsFiles: string[], pid1: number, cmd: string[], term: string | undefined): string[] {
  return [
    '/bin/sh',
    '-c',
    'for f in $1; do echo $$ >"$f" || exit 125; done; shift; exec "$@"',
    'subhost-enter',
    procsFiles.join(' '),
    'setpriv',
    '--bounding-set',
    boundingSetArg(),
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

/** `subhost enter NAME [-- CMD...]`: runs on the caller's terminal; resolves with CMD's exit status. */
export async function enter(rt: Runtime, name: string, cmd: string[]): Promise<number> {
  checkName(name);
  const { record: rec, derived: d } = known(rt, name);
  if (!rec || d.state !== 'running' || !rec.pid1) throw new SubhostError(`subhost ${name} is not running (it is ${d.state})`);
  const argv = enterArgv(subhostCgroupSet(rt.cgroupMount, name).procsFiles(), rec.pid1.pid, cmd, rt.env.TERM);
  // The terminal's signals are for the command inside, not for us.
  const ignore = () => undefined;
  for (const s of ['SIGINT', 'SIGQUIT', 'SIGTSTP'] as const) process.on(s, ignore);
  try {
    return await new Promise<number>((resolve, reject) => {
      const child = spawn(argv[0], argv.slice(1), { stdio: 'inherit', env: { PATH: GUEST_PATH, LC_ALL: 'C' } });
      child.on('error', (e) => reject(new SubhostError(`entering ${name}: ${e.message}`)));
      child.on('exit', (code, signal) => resolve(exitStatus(code, signal)));
    });
  } finally {
    for (const s of ['SIGINT', 'SIGQUIT', 'SIGTSTP'] as const) process.off(s, ignore);
  }
}
