import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Cgroup, findCgroup2Mount } from '../../src/host/cgroupfs';
import { findV1Hierarchies } from '../../src/host/cgroup-v1';
import { run } from '../../src/host/exec';
import { listLoops } from '../../src/host/loop';
import { readMountinfo } from '../../src/host/mountinfo';
import { listNetns } from '../../src/host/netns';
import { listPids, readCmdline } from '../../src/host/proc';
import { PREFIX, ROOT_PREFIX } from './env';

export interface Leftover {
  kind: 'mount' | 'loop' | 'link' | 'netns' | 'cgroup' | 'process' | 'state';
  id: string;
}

/** Test cgroups under subhost/ and vm/, in cgroup2 and in every v1 hierarchy of a hybrid host. */
function testCgroups(prefix = PREFIX): Cgroup[] {
  const roots = [findCgroup2Mount(), ...findV1Hierarchies().map((h) => h.mountPoint)];
  return roots.flatMap((r) => ['subhost', 'vm'].flatMap((p) => new Cgroup(join(r, p)).children())).filter((c) => c.path.split('/').pop()!.startsWith(prefix));
}

function environOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8');
  } catch {
    return '';
  }
}

/** Everything on this host that a test (or the soak, with its own prefixes) made and that should be gone. */
export function findTestLeftovers(runDir = '/run/subhost', prefix = PREFIX, rootPrefix = ROOT_PREFIX): Leftover[] {
  const out: Leftover[] = [];
  for (const m of readMountinfo()) if (m.mountPoint.startsWith(rootPrefix)) out.push({ kind: 'mount', id: m.mountPoint });
  for (const l of listLoops()) if (l.backingFile.startsWith(rootPrefix)) out.push({ kind: 'loop', id: `${l.dev} (${l.backingFile})` });
  for (const l of readdirSync('/sys/class/net')) if (l.startsWith(prefix)) out.push({ kind: 'link', id: l });
  for (const n of listNetns()) if (n.startsWith(prefix)) out.push({ kind: 'netns', id: n });
  for (const c of testCgroups(prefix)) {
    out.push({ kind: 'cgroup', id: c.path });
    for (const pid of c.allProcs()) out.push({ kind: 'process', id: `${pid} ${readCmdline(pid).join(' ')}` });
  }
  for (const pid of listPids()) {
    if (pid === process.pid) continue;
    const env = environOf(pid);
    if (env.includes(`\0SUBHOST_NAME=${prefix}`) || env.startsWith(`SUBHOST_NAME=${prefix}`) || env.includes(`SUBHOST_ROOT=${rootPrefix}`)) {
      out.push({ kind: 'process', id: `${pid} ${readCmdline(pid).join(' ')}` });
    }
  }
  try {
    for (const d of readdirSync(runDir)) if (d.startsWith(prefix)) out.push({ kind: 'state', id: join(runDir, d) });
  } catch {
    /* no run dir */
  }
  return out;
}

/** Remove what findTestLeftovers found, so one failed run does not poison the next. */
export async function cleanTestLeftovers(runDir = '/run/subhost'): Promise<void> {
  const left = findTestLeftovers(runDir);
  for (const p of left.filter((l) => l.kind === 'process')) {
    try {
      process.kill(Number(p.id.split(' ')[0]), 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  for (const c of testCgroups()) {
    c.kill();
    await c.waitEmpty(5000);
  }
  const mounts = readMountinfo().filter((m) => m.mountPoint.startsWith(ROOT_PREFIX)).sort((a, b) => b.mountPoint.length - a.mountPoint.length);
  for (const m of mounts) await run(['umount', '-l', m.mountPoint], { allowFailure: true });
  for (const l of listLoops()) if (l.backingFile.startsWith(ROOT_PREFIX)) await run(['losetup', '-d', l.dev], { allowFailure: true });
  for (const l of readdirSync('/sys/class/net')) if (l.startsWith(PREFIX)) await run(['ip', 'link', 'del', l], { allowFailure: true });
  for (const n of listNetns()) if (n.startsWith(PREFIX)) await run(['ip', 'netns', 'del', n], { allowFailure: true });
  for (const c of testCgroups()) c.remove();
  for (const s of left.filter((l) => l.kind === 'state')) await run(['rm', '-rf', s.id.split(' ')[0]], { allowFailure: true });
}

export function describeLeftovers(left: Leftover[]): string {
  return left.map((l) => `  ${l.kind}: ${l.id}`).join('\n');
}

/**
 * Console logs and lock files are kept on purpose (the last boot's log is readable after stop; a
 * lock file is never removed while it could be in use). Tests name every subhost anew, so at the
 * end of a run, when none of its commands is left, their files go.
 */
export function removeTestLogsAndLocks(runDir = '/run/subhost'): void {
  for (const sub of ['.logs', '.locks']) {
    let names: string[] = [];
    try {
      names = readdirSync(join(runDir, sub));
    } catch {
      continue;
    }
    for (const n of names) if (n.startsWith(PREFIX)) rmSync(join(runDir, sub, n), { force: true });
  }
}
