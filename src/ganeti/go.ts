import { spawn } from 'node:child_process';
import { ConfigError, quoteArg, SubhostError } from '../errors';
import { childEnv, run } from '../host/exec';
import { exitStatus } from '../host/proc';
import { enter } from '../core/lifecycle/enter';
import type { Runtime } from '../core/state/runtime';
import { getMaster, gntReason, listInstanceArgv, parseInstanceList, readInstance, stderrReason, type GntInstance } from './gnt';
import { subhostNameOf } from './mapping';
import { isThisNode, readDefaults } from './node';

const sshTarget = (host: string) => `root@${host}`;

/** The master: GANETI_MASTER in the defaults file, else this node's ssconf (`gnt-cluster getmaster`). */
async function findMaster({ file, vars }: ReturnType<typeof readDefaults>): Promise<string> {
  if (vars.GANETI_MASTER) return vars.GANETI_MASTER;
  try {
    return await getMaster();
  } catch (err) {
    throw new ConfigError(`no GANETI_MASTER in ${file}, and this host is no Ganeti node (gnt-cluster getmaster: ${gntReason(err)})`);
  }
}

/** Ask the master for NAME: here when this host is the master, else over ssh (about 0.6 s). */
async function askMaster(master: string, name: string, ssh: string[]): Promise<GntInstance> {
  if (isThisNode(master)) return readInstance(name).catch((err: unknown) => { throw new SubhostError(`${gntReason(err)} (asked ${master})`); });
  const remote = listInstanceArgv(name).map(quoteArg).join(' ');
  const r = await run([...ssh, '-o', 'BatchMode=yes', sshTarget(master), remote], { allowFailure: true, timeoutMs: 60_000 });
  if (r.code === 255) throw new SubhostError(`cannot reach master ${master} over ssh: ${lastLine(r.stderr) || 'ssh exited with status 255'}`);
  if (r.code !== 0) throw new SubhostError(`${stderrReason(r.stderr) || `gnt-instance list exited with status ${r.code}`} (asked ${master})`);
  return parseInstanceList(r.stdout, name, ` (asked ${master})`);
}

const lastLine = (s: string) => s.split('\n').map((l) => l.trim()).filter(Boolean).pop() ?? '';

/** ssh to the node running NAME, with the terminal when there is one; resolves with ssh's status (the command's). */
function sshInteractive(ssh: string[], node: string, remote: string): Promise<number> {
  const tty = process.stdin.isTTY && process.stdout.isTTY;
  // Quiet: ssh's own errors are asked again below, so that a failure to connect is one line of ours.
  const argv = [...ssh, tty ? '-t' : '-T', '-q', sshTarget(node), remote];
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: 'inherit', env: childEnv() });
    child.on('error', (e) => reject(new SubhostError(`ssh: ${e.message}`)));
    child.on('exit', (code, signal) => resolve(exitStatus(code, signal)));
  });
}

/** `subhost go NAME [-- CMD…]`: enter NAME on whichever node of the cluster runs it; CMD's exit status. */
export async function go(rt: Runtime, name: string, cmd: string[]): Promise<number> {
  const defaults = readDefaults(rt.env);
  const config = defaults.vars.GANETI_SSH_CONFIG;
  // ssh and its options before the destination.
  const ssh = ['ssh', ...(config ? ['-F', config] : [])];
  const master = await findMaster(defaults);
  const inst = await askMaster(master, name, ssh);
  const subhost = subhostNameOf(inst.name);
  if (isThisNode(inst.pnode)) return enter(rt, subhost, cmd);
  const remote = ['subhost', 'enter', subhost, ...(cmd.length ? ['--', ...cmd] : [])].map(quoteArg).join(' ');
  const status = await sshInteractive(ssh, inst.pnode, remote);
  if (status !== 255) return status;
  // 255 is ssh's own failure, or the command's status: a second, quiet connection tells them apart.
  const probe = await run([...ssh, '-o', 'BatchMode=yes', sshTarget(inst.pnode), 'true'], { allowFailure: true, timeoutMs: 60_000 });
  if (probe.code === 0) return status;
  throw new SubhostError(`cannot reach node ${inst.pnode} (running ${inst.name}) over ssh: ${lastLine(probe.stderr) || `ssh exited with status ${probe.code}`}`);
}
