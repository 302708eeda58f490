import { readlinkSync } from 'node:fs';
import { readFileOr } from '../../host/read-file';
import { basename } from 'node:path';
import { parseProcCgroup, type ProcCgroups } from '../../host/cgroup-text';
import { listPids, readCmdline, readStat } from '../../host/proc';

/** The executables `cgroups setup` takes for virtual machines (the seed's cgroupsetup.sh list). */
export const VM_EXECUTABLE = /^(kvm|qemu-kvm|qemu-system-[A-Za-z0-9_.+-]+)$/;

/** By its executable, or by comm (15 bytes: "qemu-system-x86"); a process that renamed itself is still found by its executable. */
export function isVmProcess(exe: string | undefined, comm: string): boolean {
  return (exe !== undefined && VM_EXECUTABLE.test(basename(exe.replace(/ \(deleted\)$/, '')))) || VM_EXECUTABLE.test(comm);
}

/**
 * The guest name from QEMU's -name: "-name NAME", or its option form "-name guest=NAME,process=P,
 * debug-threads=on" (libvirt and Ganeti), where ",," is a literal comma. The last -name wins, as in QEMU.
 */
export function vmNameFromArgv(argv: string[]): string | undefined {
  let value: string | undefined;
  for (let i = 1; i < argv.length - 1; i++) if (argv[i] === '-name' || argv[i] === '--name') value = argv[i + 1];
  if (value === undefined) return undefined;
  const parts = splitQemuOpts(value);
  // Only the first part may be the bare name (QEMU's implied "guest=").
  const guest = parts.find((p, i) => p.startsWith('guest=') || (i === 0 && !/^[a-z-]+=/.test(p)));
  return guest?.replace(/^guest=/, '');
}

/** QEMU option lists: parts separated by ",", where ",," is a comma inside a part. */
export function splitQemuOpts(value: string): string[] {
  const parts = [''];
  for (let i = 0; i < value.length; i++) {
    if (value[i] !== ',') parts[parts.length - 1] += value[i];
    else if (value[i + 1] === ',') {
      parts[parts.length - 1] += ',';
      i += 1;
    } else parts.push('');
  }
  return parts;
}

/** Why a -name cannot be a cgroup directory name under vm/, or undefined when it can. */
export function vmNameProblem(name: string): string | undefined {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.:@+-]{0,199}$/.test(name)) return 'use letters, digits and _ . : @ + - (at most 200, starting with a letter or digit)';
  if (/^(cgroup|cpu|cpuacct|cpuset|memory|io|pids|blkio|devices|freezer|hugetlb|rdma|misc|net_cls|net_prio|perf_event)\./.test(name)) return 'it looks like a cgroup interface file';
  // cgroup v1 keeps these dotless files in every cgroup: mkdir vm/NAME would fail.
  if (/^(tasks|notify_on_release|release_agent)$/.test(name)) return 'it is the name of a cgroup v1 file';
  return undefined;
}

export interface VmProcess {
  pid: number;
  /** Field 22 of /proc/PID/stat: tells a reused PID from this process. */
  start: number;
  exe: string;
  /** From -name, when usable; else `problem` says why it is skipped. */
  name?: string;
  problem?: string;
  cgroups: ProcCgroups;
}


/** Every running VM process among pids (default: all of /proc; kernel threads, which have no cmdline, are never VMs). */
export function findVmProcesses(pids: number[] = listPids()): VmProcess[] {
  const out: VmProcess[] = [];
  for (const pid of pids) {
    const st = readStat(pid);
    if (!st) continue;
    let exe: string | undefined;
    try {
      exe = readlinkSync(`/proc/${pid}/exe`);
    } catch {
      exe = undefined;
    }
    if (!isVmProcess(exe, st.comm)) continue;
    const argv = readCmdline(pid);
    const cgroupText = readFileOr(`/proc/${pid}/cgroup`);
    if (!argv.length || cgroupText === undefined) continue;
    const vm: VmProcess = { pid, start: st.start, exe: basename((exe ?? argv[0]).replace(/ \(deleted\)$/, '')), cgroups: parseProcCgroup(cgroupText) };
    const name = vmNameFromArgv(argv);
    const problem = name === undefined ? 'it has no -name' : vmNameProblem(name);
    if (problem) vm.problem = name === undefined ? problem : `-name ${JSON.stringify(name)}: ${problem}`;
    else vm.name = name;
    out.push(vm);
  }
  return out;
}
