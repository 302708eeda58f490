import type { PartitionTable } from '../storage/partition-table';
import type { SubhostConfig } from '../config/types';
import { DEVICES_LEAF, STANDARD_DEVICES, TUN_DEVICE, type DeviceControl, usesV1Devices } from '../cgroups/devices';
import { layoutFor, type Layout } from '../storage/layout';
import { hostSideMac } from '../config/mac';
import { hostIfname, insideIfname, linkAlias } from '../config/names';
import { CGROUP_PARENT, type Paths } from '../state/paths';
import { predictLimits, type CgroupLayout } from '../cgroups/limits';
import { DROPPED_CAPABILITIES } from '../guest/capabilities';
import type { StateRecord } from '../state/records';
import type { Pid1Params, ShellTerminal } from '../guest/pid1-env';
import { deviceNode, rootSteps } from './root-steps';
import type { SubhostPlan, SubhostStep } from './subhost-steps';

export { deviceNode };

/** What the planner needs to know about the host, gathered by the (read-only) checks. */
export interface PlanFacts {
  paths: Paths;
  tables: Map<string, PartitionTable>;
  /** Default: the layout the config alone gives (NAME.img is only known by looking). */
  layout?: Layout;
  /** How this host lets subhost restrict device access (src/core/cgroups/devices.ts). */
  deviceControl: DeviceControl;
  /** Controllers cgroup2 and (hybrid hosts) v1 offer: where each limit is expected to go. */
  cgroupLayout: CgroupLayout;
  /** Partitions as offset loops even where the kernel parses tables (SUBHOST_FORCE_OFFSET_LOOPS=1). */
  offsetLoops?: boolean;
}

export interface BootFacts extends PlanFacts {
  bootId: string;
  graceSeconds: number;
}

/** How `subhost start` connects the shell: the caller's terminal (through a new pty) or its stdin. */
export interface ShellFacts {
  terminal: ShellTerminal;
  /** TERM inside. */
  term: string;
}

function diskNodes(cfg: SubhostConfig): { node: string; from: string }[] {
  return cfg.disks.map((d) => ({ node: deviceNode(d.dev, d.part), from: `disk:${deviceNode(d.dev, d.part)}` }));
}

/** Steps of the root filesystem that hold a loop device, for the cgroup step's IO accounting. */
function loopStepIds(root: SubhostStep[]): string[] {
  return root.filter((s) => s.kind === 'loop-attach' || s.kind === 'partition' || s.kind === 'mount-image').map((s) => s.id);
}

/** The cgroup, the devices policy, the network namespace and the veths: the same for every layout and mode. */
function environmentSteps(cfg: SubhostConfig, facts: PlanFacts, loops: string[]): SubhostStep[] {
  const name = cfg.name;
  const cgroup = `${CGROUP_PARENT}/${name}`;
  const steps: SubhostStep[] = [];
  const expected = predictLimits(cfg.limits, facts.cgroupLayout);
  const limits = expected.targets.map((t) => `${t.writes.map((w) => `${w.file}=${w.value}${w.optional ? ' if present' : ''}`).join(' ')} (${t.source})`);
  steps.push({
    kind: 'cgroup',
    id: 'cgroup',
    describe: `create cgroup ${cgroup}${limits.length ? ` with ${limits.join(', ')}` : ''}${expected.warnings.map((w) => `; ${w}`).join('')}`,
    params: { path: cgroup, limits: cfg.limits },
  });
  // cgroup2's io.stat counts by itself; v1 blkio (hybrid hosts) needs a rule per disk first.
  if (loops.length && !facts.cgroupLayout.v2.includes('io') && facts.cgroupLayout.v1.includes('blkio')) {
    steps.push({ kind: 'io-accounting', id: 'io', describe: `count the IO of its loop devices in the v1 blkio cgroup ${cgroup} (a rule of no limit on each)`, params: { path: cgroup, loops } });
  }

  const disks = diskNodes(cfg);
  const allowed = [...STANDARD_DEVICES.map((d) => d.what), ...(cfg.tun ? [TUN_DEVICE.what] : []), ...disks.map((d) => d.node)].join(' ');
  steps.push({
    kind: 'devices',
    id: 'devices',
    describe: `allow only ${allowed}: a device eBPF program on the cgroup2 ${cgroup}${usesV1Devices(facts.deviceControl) ? ` and deny all but these in the v1 devices cgroup ${cgroup}` : ''}; the guest runs in the child ${cgroup}/${DEVICES_LEAF}`,
    params: { cgroup, disks, tun: cfg.tun, control: facts.deviceControl },
  });

  steps.push({ kind: 'netns', id: 'netns', describe: `create network namespace ${name} with lo up (alias ${linkAlias(name)})`, params: { netns: name, alias: linkAlias(name) } });
  if (cfg.bridges.length) {
    const links = cfg.bridges.map((b, i) => ({ host: hostIfname(name, i), inside: insideIfname(i), mac: b.mac, hostMac: hostSideMac(b.mac), bridge: b.bridge }));
    steps.push({
      kind: 'veths',
      id: 'veths',
      describe: `create ${links.map((l) => `veth ${l.host} on bridge ${l.bridge} <-> ${l.inside} ${l.mac}`).join('; ')} in ${name}`,
      params: { netns: name, alias: linkAlias(name), links },
    });
  }
  return steps;
}

function pid1Params(cfg: SubhostConfig, live: string): Pid1Params {
  return { live, netns: cfg.name, cgroup: `${CGROUP_PARENT}/${cfg.name}`, hostname: cfg.hostname, devices: diskNodes(cfg), tun: cfg.tun };
}

function namespacesText(cfg: SubhostConfig, live: string): string {
  return (
    `new mount, PID, UTS, IPC and cgroup namespaces; netns ${cfg.name}; cgroup ${CGROUP_PARENT}/${cfg.name}; pivot_root into ${live}, the host's root detached before the guest's /bin/sh runs; host name ${cfg.hostname}; ` +
    `without capabilities ${DROPPED_CAPABILITIES.map((c) => c.cap).join(' ')} (none inheritable or ambient); /sys read-only, /proc/sys read-only but net/, host-only /proc files masked`
  );
}

/** The steps that start a shell as PID 1: all of a resume, the end of a start. */
function shellSteps(cfg: SubhostConfig, live: string, shell: ShellFacts): SubhostStep[] {
  const on = shell.terminal === 'tty' ? 'on this terminal, through a new pseudo-terminal (job control)' : 'reading commands from standard input';
  return [
    {
      kind: 'start-shell',
      id: 'start-shell',
      describe: `start a shell (bash if the guest has it, else sh) as PID 1 ${on}, after subhost-init's mounts (${namespacesText(cfg, live)})`,
      params: { ...pid1Params(cfg, live), ...shell },
    },
  ];
}

/**
 * What may run at the same time: the root filesystem's chain (each loop device at once, then its
 * partitions, then the mount) beside the network (netns, then veths) and the cgroup; devices once
 * the partitions are known, IO accounting once the root is mounted; PID 1 last, after everything
 * but IO accounting.
 */
function withOrder(root: SubhostStep[], env: SubhostStep[], pid1: SubhostStep[]): SubhostStep[] {
  const rootIds = root.map((s) => s.id);
  const ordered: SubhostStep[] = root.map((s, i) => {
    if (s.kind === 'loop-attach') return { ...s, after: [] };
    if (s.kind === 'partition') return { ...s, after: [s.params.loop] };
    if (s.kind === 'mount-root') return { ...s, after: [s.params.source] };
    return { ...s, after: i === 0 ? [] : [root[i - 1].id] };
  });
  for (const s of env) {
    if (s.kind === 'cgroup') ordered.push({ ...s, after: [] });
    // After the root too: v1 IO accounting's first rule on a new loop device freezes its queue (about 45 ms), which would stall the mount.
    else if (s.kind === 'io-accounting') ordered.push({ ...s, after: ['cgroup', ...new Set([...s.params.loops, ...rootIds])] });
    else if (s.kind === 'devices') ordered.push({ ...s, after: ['cgroup', ...root.filter((r) => r.kind === 'partition').map((r) => r.id)] });
    else if (s.kind === 'netns') ordered.push({ ...s, after: [] });
    else if (s.kind === 'veths') ordered.push({ ...s, after: ['netns'] });
    else ordered.push(s);
  }
  // PID 1 need not wait for IO accounting (a kernel queue freeze): the plan ends when both are done.
  const before = ordered.filter((s) => s.kind !== 'io-accounting').map((s) => s.id);
  for (const s of pid1) ordered.push({ ...s, after: before });
  return ordered;
}

/** `subhost boot`: the root filesystem by layout, then the environment, then subhost-init as PID 1. Pure. */
export function buildBootPlan(cfg: SubhostConfig, facts: BootFacts): SubhostPlan {
  const layout = facts.layout ?? layoutFor(cfg, facts.paths, false);
  const root = rootSteps(cfg, layout, facts.tables, facts.offsetLoops);
  const startInit: SubhostStep = {
    kind: 'start-init',
    id: 'start-init',
    describe: `start subhost-init as PID 1 (${namespacesText(cfg, layout.live)})`,
    params: { ...pid1Params(cfg, layout.live), graceSeconds: facts.graceSeconds, bootId: facts.bootId },
  };
  return { name: cfg.name, command: 'boot', steps: withOrder(root, environmentSteps(cfg, facts, loopStepIds(root)), [startInit]) };
}

/** `subhost start` of a stopped subhost: the same as boot, but PID 1 is a shell. Pure. */
export function buildStartPlan(cfg: SubhostConfig, facts: PlanFacts & ShellFacts): SubhostPlan {
  const layout = facts.layout ?? layoutFor(cfg, facts.paths, false);
  const root = rootSteps(cfg, layout, facts.tables, facts.offsetLoops);
  return { name: cfg.name, command: 'start', steps: withOrder(root, environmentSteps(cfg, facts, loopStepIds(root)), shellSteps(cfg, layout.live, facts)) };
}

/** `subhost start` of a hibernated subhost: its mounts and network are kept; only PID 1 starts again. */
export function buildResumePlan(record: StateRecord, shell: ShellFacts, paths: Paths): SubhostPlan {
  const live = record.layout?.live ?? paths.live(record.name);
  return { name: record.name, command: 'start (resume)', steps: shellSteps(record.config, live, shell) };
}
