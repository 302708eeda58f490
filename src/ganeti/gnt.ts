import { CommandError, firstLine, SubhostError } from '../errors';
import { run } from '../host/exec';

/**
 * Ganeti through its command-line tools, not RAPI: they are on every node, talk to the daemons
 * over local sockets with no credentials to keep, and `activate-disks` answers with the paths at
 * once; RAPI needs a user file, a self-signed certificate without a SAN, and a job to poll.
 */

export interface GntInstance {
  /** The full name Ganeti knows it by. */
  name: string;
  pnode: string;
  /** Ganeti's status: ADMIN_down, running, ERROR_down… */
  status: string;
  adminUp: boolean;
  /** Running under Ganeti's own hypervisor. */
  operUp: boolean;
  hypervisor: string;
  diskTemplate: string;
  diskCount: number;
  /** Ganeti wants its disks active (activate-disks, or up under Ganeti). */
  disksActive: boolean;
  nics: { mac: string; link: string; mode: string }[];
}

const FIELDS = ['name', 'pnode', 'status', 'admin_state', 'oper_state', 'hypervisor', 'disk_template', 'disk.count', 'disks_active', 'nic.macs', 'nic.links', 'nic.modes'];

const list = (field: string) => (field === '' || field === '-' ? [] : field.split(','));

/** One line of `gnt-instance list --no-headers --separator='|' -o FIELDS`. */
export function parseInstanceLine(line: string): GntInstance {
  const f = line.trim().split('|');
  if (f.length !== FIELDS.length) throw new SubhostError(`gnt-instance list: unexpected line ${JSON.stringify(line)}`);
  const [name, pnode, status, admin, oper, hypervisor, diskTemplate, diskCount, active, macs, links, modes] = f;
  const m = list(macs);
  const l = list(links);
  const md = list(modes);
  return {
    name,
    pnode,
    status,
    adminUp: admin === 'up',
    operUp: oper === 'Y',
    hypervisor,
    diskTemplate,
    diskCount: Number(diskCount),
    disksActive: active === 'Y',
    nics: m.map((mac, i) => ({ mac: mac.toLowerCase(), link: l[i] ?? '', mode: md[i] ?? 'bridged' })),
  };
}

/** `gnt-instance activate-disks` prints `node:disk/N:PATH` per disk; PATH may itself hold ':'. */
export function parseActivatedDisks(stdout: string): string[] {
  const paths: string[] = [];
  for (const line of stdout.split('\n').filter((l) => l.trim())) {
    const m = /^[^:]+:disk\/(\d+):(.+)$/.exec(line.trim());
    if (!m) throw new SubhostError(`gnt-instance activate-disks: unexpected line ${JSON.stringify(line)}`);
    paths[Number(m[1])] = m[2];
  }
  return paths;
}

/** Ganeti's own message, the last meaningful line of a gnt-* command's stderr ("Instance name X not found"), or ''. */
export function stderrReason(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter((l) => l && !/^error type:/.test(l));
  return lines[lines.length - 1]?.replace(/^Failure: /, '') ?? '';
}

/** Why a gnt-* command failed, in Ganeti's own words when it gave some. */
export function gntReason(err: unknown): string {
  if (!(err instanceof CommandError)) return err instanceof Error ? err.message : String(err);
  if (err.code === null && err.stderr === 'command not found') return `${err.argv[0]} is not installed: this host is no Ganeti node`;
  return stderrReason(err.stderr) || firstLine(err.message);
}

async function gnt(argv: string[], timeoutMs = 120_000) {
  try {
    return await run(argv, { timeoutMs });
  } catch (err) {
    throw new SubhostError(gntReason(err), { cause: err, details: err instanceof SubhostError ? err.details : [] });
  }
}

/** The command that lists one instance: run here (readInstance), or on the master over ssh (go). */
export function listInstanceArgv(name: string): string[] {
  return ['gnt-instance', 'list', '--no-headers', '--separator=|', '-o', FIELDS.join(','), name];
}

/** Its output: the one line of the instance; `where` says whom we asked. */
export function parseInstanceList(stdout: string, name: string, where = ''): GntInstance {
  const lines = stdout.split('\n').filter((l) => l.trim());
  if (lines.length !== 1) throw new SubhostError(`instance ${name} not found${where}`);
  return parseInstanceLine(lines[0]);
}

export async function readInstance(name: string): Promise<GntInstance> {
  return parseInstanceList((await gnt(listInstanceArgv(name), 60_000)).stdout, name);
}

export async function activateDisks(name: string): Promise<string[]> {
  return parseActivatedDisks((await gnt(['gnt-instance', 'activate-disks', name])).stdout);
}

export async function deactivateDisks(name: string): Promise<void> {
  await gnt(['gnt-instance', 'deactivate-disks', name]);
}

/** The master's name from this node's ssconf; refused where this host is no node. */
export async function getMaster(): Promise<string> {
  return (await gnt(['gnt-cluster', 'getmaster'], 30_000)).stdout.trim();
}
