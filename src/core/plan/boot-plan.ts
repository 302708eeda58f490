import type { PartitionTable } from '../partition-table';
import type { SubhostConfig } from '../config/types';
import { DEVICES_LEAF, STANDARD_DEVICES, TUN_DEVICE, type DeviceControl } from '../devices';
import { hostSideMac } from '../mac';
import { hostIfname, insideIfname } from '../names';
import { CGROUP_PARENT, type Paths } from '../paths';
import { predictLimits, type CgroupLayout } from '../cgroup-limits';
import { linkAlias } from '../steps/network';
import { INIT_PATH } from '../steps/init';
import { DROPPED_CAPABILITIES } from '../capabilities';
import type { Plan, Step } from './types';

/** What the planner needs to know about the host, gathered by the (read-only) checks. */
export interface BootFacts {
  paths: Paths;
  tables: Map<string, PartitionTable>;
  bootId: string;
  graceSeconds: number;
  /** How this host lets subhost restrict device access (src/core/devices.ts). */
  deviceControl: DeviceControl;
  /** Controllers cgroup2 and (hybrid hosts) v1 offer: where each limit is expected to go. */
  cgroupLayout: CgroupLayout;
}

export function deviceNode(dev: string, part: number): string {
  return part === 0 ? dev : `${dev}${part}`;
}

/** The boot of a disk-image subhost as a list of steps (SPEC §3, `subhost boot`). Pure. */
export function buildBootPlan(cfg: SubhostConfig, facts: BootFacts): Plan {
  const { paths } = facts;
  const name = cfg.name;
  const live = paths.live(name);
  const cgroup = `${CGROUP_PARENT}/${name}`;
  const steps: Step[] = [];

  const images = [...new Set(cfg.disks.map((d) => d.image))];
  for (const image of images) {
    steps.push({ kind: 'loop-attach', id: `loop:${image}`, describe: `attach ${image} to a loop device with partition scan`, params: { image } });
  }
  for (const d of cfg.disks) {
    const node = deviceNode(d.dev, d.part);
    const part = facts.tables.get(d.image)?.partitions.find((p) => p.index === d.part);
    const describe =
      d.part === 0
        ? `use the whole of ${d.image} as /dev/${node}`
        : `find partition ${d.part} of ${d.image} for /dev/${node}: the kernel's, or a loop at offset ${part?.offset} (${part?.size} bytes)`;
    steps.push({ kind: 'partition', id: `disk:${node}`, describe, params: { image: d.image, part: d.part, node, offset: part?.offset ?? 0, size: part?.size ?? 0, loop: `loop:${d.image}` } });
  }
  const rootNode = deviceNode(cfg.disks[0].dev, cfg.disks[0].part);
  steps.push({ kind: 'mount-root', id: 'root', describe: `mount /dev/${rootNode} (${cfg.disks[0].image}) on ${live}`, params: { source: `disk:${rootNode}`, target: live } });

  const expected = predictLimits(cfg.limits, facts.cgroupLayout);
  const limits = expected.targets.map((t) => `${t.writes.map((w) => `${w.file}=${w.value}`).join(' ')} (${t.source})`);
  steps.push({
    kind: 'cgroup',
    id: 'cgroup',
    describe: `create cgroup ${cgroup}${limits.length ? ` with ${limits.join(', ')}` : ''}${expected.warnings.map((w) => `; ${w}`).join('')}`,
    params: { path: cgroup, limits: cfg.limits, loops: [...images.map((i) => `loop:${i}`), ...cfg.disks.map((d) => `disk:${deviceNode(d.dev, d.part)}`)] },
  });

  const disks = cfg.disks.map((d) => ({ node: deviceNode(d.dev, d.part), from: `disk:${deviceNode(d.dev, d.part)}` }));
  const allowed = [...STANDARD_DEVICES.map((d) => d.what), ...(cfg.tun ? [TUN_DEVICE.what] : []), ...disks.map((d) => d.node)].join(' ');
  steps.push({
    kind: 'devices',
    id: 'devices',
    describe:
      facts.deviceControl === 'cgroup-v1'
        ? `restrict devices in the v1 devices cgroup ${cgroup}: deny all, allow ${allowed}; the guest runs in its child ${cgroup}/${DEVICES_LEAF}`
        : `leave devices unrestricted: this host has no cgroup v1 devices controller (pure cgroup v2) and subhost loads no device eBPF program`,
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

  steps.push({ kind: 'install-init', id: 'install-init', describe: `install subhost-init as ${INIT_PATH} in ${live}`, params: { live } });
  steps.push({
    kind: 'start-init',
    id: 'start-init',
    describe: `start subhost-init as PID 1 (new mount, PID, UTS, IPC and cgroup namespaces; netns ${name}; cgroup ${cgroup}; pivot_root into ${live}; host name ${cfg.hostname}; without capabilities ${DROPPED_CAPABILITIES.map((c) => c.cap).join(' ')}; /sys read-only, /proc/sys read-only but net/, host-only /proc files masked)`,
    params: {
      live,
      netns: name,
      cgroup,
      hostname: cfg.hostname,
      devices: disks,
      tun: cfg.tun,
      graceSeconds: facts.graceSeconds,
      bootId: facts.bootId,
    },
  });
  return { name, command: 'boot', steps };
}

