import { readdirSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { readIfalias } from '../../src/host/ip';
import { Cgroup, findCgroup2Mount } from '../../src/host/cgroupfs';
import { findV1Hierarchies } from '../../src/host/cgroup-v1';
import { run } from '../../src/host/exec';
import { listLoops } from '../../src/host/loop';
import { readMountinfo } from '../../src/host/mountinfo';
import { listNetns } from '../../src/host/netns';
import { listPids, readCmdline, readEnviron } from '../../src/host/proc';
import { PREFIX, ROOT_PREFIX } from './env';
import { ganetiDown, ganetiLeftovers } from './ganeti-leaks';

const RUN_DIR = '/run/subhost';

export interface Leftover {
  kind: 'mount' | 'loop' | 'link' | 'netns' | 'cgroup' | 'process' | 'state' | 'ganeti';
  id: string;
  /**
   * Whose it is: the subhost's name (a process's SUBHOST_NAME, the cgroup's folder, the netns or
   * state folder, a host veth's alias, the folder under the test root of a mount or a loop's
   * image); else the object's own name ('' for a test root itself).
   */
  subhost: string;
}

/** Test cgroups under subhost/, vm/ and subhost.monitor/ (supervisors'), in cgroup2 and in every v1 hierarchy of a hybrid host. */
export function testCgroups(prefix = PREFIX): Cgroup[] {
  const roots = [findCgroup2Mount(), ...findV1Hierarchies().map((h) => h.mountPoint)];
  return roots.flatMap((r) => ['subhost', 'vm', 'subhost.monitor'].flatMap((p) => new Cgroup(join(r, p)).children())).filter((c) => basename(c.path).startsWith(prefix));
}

/** /var/tmp/subhost-test-tsq-AbC123/NAME/live -> NAME: the first folder under the test root. */
function underTestRoot(path: string, rootPrefix: string): string {
  return path.slice(rootPrefix.length).split('/')[1] ?? '';
}

/** A host veth carries `subhost:NAME`; a link without that mark (a test bridge or peer) is its own. */
function linkOwner(link: string): string {
  const alias = readIfalias(link);
  return alias?.startsWith('subhost:') ? alias.slice('subhost:'.length) : link;
}

const describeProcess = (pid: number) => `${pid} ${readCmdline(pid).join(' ')}`;

/** Everything on this host that a test (or the soak, with its own prefixes) made and that should be gone. */
export function findTestLeftovers(runDir = RUN_DIR, prefix = PREFIX, rootPrefix = ROOT_PREFIX): Leftover[] {
  const out: Leftover[] = [];
  for (const m of readMountinfo()) if (m.mountPoint.startsWith(rootPrefix)) out.push({ kind: 'mount', id: m.mountPoint, subhost: underTestRoot(m.mountPoint, rootPrefix) });
  const loops = listLoops();
  for (const l of loops) if (l.backingFile.startsWith(rootPrefix)) out.push({ kind: 'loop', id: `${l.dev} (${l.backingFile})`, subhost: underTestRoot(l.backingFile, rootPrefix) });
  // A loop on a test loop device (a subhost on a Ganeti blockdev disk): its backing file is /dev/loopN.
  for (const l of loops) {
    const under = loops.find((b) => b.dev === l.backingFile && b.backingFile.startsWith(rootPrefix));
    if (under) out.push({ kind: 'loop', id: `${l.dev} (${l.backingFile} of ${under.backingFile})`, subhost: underTestRoot(under.backingFile, rootPrefix) });
  }
  for (const l of readdirSync('/sys/class/net')) if (l.startsWith(prefix)) out.push({ kind: 'link', id: l, subhost: linkOwner(l) });
  for (const n of listNetns()) if (n.startsWith(prefix)) out.push({ kind: 'netns', id: n, subhost: n });
  for (const c of testCgroups(prefix)) {
    const name = basename(c.path);
    out.push({ kind: 'cgroup', id: c.path, subhost: name });
    for (const pid of c.allProcs()) out.push({ kind: 'process', id: describeProcess(pid), subhost: name });
  }
  for (const pid of listPids()) {
    if (pid === process.pid) continue;
    const env = readEnviron(pid);
    // A test daemon carries the prefix in SUBHOST_DAEMON_VM_PREFIX; a test VM in its -name.
    // Or a program working on files of a test root (a test's dnsmasq, bootstrap's mke2fs or debootstrap).
    const testVm = readCmdline(pid).some((a, i, argv) => argv[i - 1] === '-name' && a.replace(/^guest=/, '').startsWith(prefix));
    if (env.SUBHOST_NAME?.startsWith(prefix) || env.SUBHOST_ROOT?.startsWith(rootPrefix) || env.SUBHOST_DAEMON_VM_PREFIX === prefix || testVm || readCmdline(pid).some((a) => a.includes(rootPrefix))) {
      out.push({ kind: 'process', id: describeProcess(pid), subhost: env.SUBHOST_NAME ?? '' });
    } else if (env.SUBHOST_TEST_GANETI === prefix) {
      out.push({ kind: 'process', id: describeProcess(pid), subhost: 'ganeti' });
    }
  }
  out.push(...ganetiLeftovers(prefix));
  try {
    for (const d of readdirSync(runDir)) if (d.startsWith(prefix)) out.push({ kind: 'state', id: join(runDir, d), subhost: d });
  } catch {
    /* no run dir */
  }
  return out;
}

/**
 * What the test subhosts of these names left: theirs by the subhost field, and also a host veth
 * NAME0… that a kill left before its alias was set, and a subhost command still running on them.
 */
export function leftoversOf(...names: string[]): Leftover[] {
  return findTestLeftovers().filter((l) =>
    names.some((n) => l.subhost === n || (l.kind === 'link' && new RegExp(`^${n}\\d+$`).test(l.id)) || (l.kind === 'process' && l.id.split(' ').includes(n))),
  );
}

/** Remove what findTestLeftovers found, so one failed run does not poison the next. */
export async function cleanTestLeftovers(runDir = RUN_DIR, prefix = PREFIX, rootPrefix = ROOT_PREFIX): Promise<void> {
  if (findTestLeftovers(runDir, prefix, rootPrefix).some((l) => l.subhost === 'ganeti')) await ganetiDown(prefix);
  const left = findTestLeftovers(runDir, prefix, rootPrefix);
  for (const p of left.filter((l) => l.kind === 'process')) {
    try {
      process.kill(Number(p.id.split(' ')[0]), 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  for (const c of testCgroups(prefix)) {
    c.kill();
    await c.waitEmpty(5000);
  }
  const mounts = readMountinfo().filter((m) => m.mountPoint.startsWith(rootPrefix)).sort((a, b) => b.mountPoint.length - a.mountPoint.length);
  for (const m of mounts) await run(['umount', '-l', m.mountPoint], { allowFailure: true });
  const loops = listLoops();
  const ours = loops.filter((l) => l.backingFile.startsWith(rootPrefix));
  // Loops stacked on ours first: a loop device in use by another is not freed by its detach.
  for (const l of loops) if (ours.some((b) => b.dev === l.backingFile)) await run(['losetup', '-d', l.dev], { allowFailure: true });
  for (const l of ours) await run(['losetup', '-d', l.dev], { allowFailure: true });
  for (const l of readdirSync('/sys/class/net')) if (l.startsWith(prefix)) await run(['ip', 'link', 'del', l], { allowFailure: true });
  for (const n of listNetns()) if (n.startsWith(prefix)) await run(['ip', 'netns', 'del', n], { allowFailure: true });
  for (const c of testCgroups(prefix)) c.remove();
  for (const s of left.filter((l) => l.kind === 'state')) rmSync(s.id, { recursive: true, force: true });
}

export function describeLeftovers(left: Leftover[]): string {
  return left.map((l) => `  ${l.kind}: ${l.id}${l.subhost && !l.id.includes(l.subhost) ? ` (${l.subhost})` : ''}`).join('\n');
}

/**
 * Console logs and lock files are kept on purpose (the last boot's log is readable after stop; a
 * lock file is never removed while it could be in use). Tests name every subhost anew, so at the
 * end of a run, when none of its commands is left, their files go.
 */
export function removeTestLogsAndLocks(runDir = RUN_DIR, prefix = PREFIX): void {
  for (const sub of ['.logs', '.locks']) {
    let names: string[] = [];
    try {
      names = readdirSync(join(runDir, sub));
    } catch {
      continue;
    }
    for (const n of names) if (n.startsWith(prefix)) rmSync(join(runDir, sub, n), { force: true });
  }
}
