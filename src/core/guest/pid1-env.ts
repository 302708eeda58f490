import { join } from 'node:path';
import { nativeProgram } from '../../host/bpf-addon';
import { netnsPath } from '../../host/netns';
import { CgroupSet } from '../cgroups/subhost-cgroups';
import { droppedCapabilityNumbers } from './capabilities';
import { protectionEnv } from './hardening';
import { shareDir } from './share';

/** What PID 1 is started in, for subhost-init (boot) and for the shell (start) alike. */
export interface Pid1Params {
  live: string;
  netns: string;
  /** Relative to the cgroup2 mount. */
  cgroup: string;
  hostname: string;
  /** The declared disks: node inside and the partition step that knows its numbers. */
  devices: { node: string; from: string }[];
  tun: boolean;
}

/** tty: through a new pseudo-terminal, the shell's controlling terminal; pipe: commands from stdin. */
export type ShellTerminal = 'tty' | 'pipe';

/** How PID 1's session is made: see SUBHOST_SESSION in native/bpf/supervisor.c. */
export type Pid1Session = '' | 'new' | 'tty';

/** A block device's numbers, as the step that made it found them. */
export type DeviceNumbers = (fromStep: string) => { major: number; minor: number };

/** The environment of the supervisor's stage (native/bpf/supervisor.c lists it); initEnv adds to PID 1's own. */
export function pid1StageEnv(p: Pid1Params, cgroupMount: string, numbers: DeviceNumbers, initEnv: string[], session: Pid1Session): Record<string, string> {
  const devices = p.devices.map((d) => {
    const r = numbers(d.from);
    return `${d.node}:${r.major}:${r.minor}`;
  });
  const env = ['container=subhost', `SUBHOST_INIT_HOSTNAME=${p.hostname}`, `SUBHOST_INIT_DEVICES=${devices.join(',')}`, `SUBHOST_INIT_TUN=${p.tun ? 'yes' : 'no'}`, ...protectionEnv(), ...initEnv];
  return {
    SUBHOST_CGROUP_PROCS: CgroupSet.at(cgroupMount, p.cgroup).procsFiles().join(' '),
    SUBHOST_NETNS: netnsPath(p.netns),
    SUBHOST_LIVE: p.live,
    SUBHOST_CAPS_DROP: droppedCapabilityNumbers(),
    SUBHOST_PIVOT: nativeProgram('pivot-exec'),
    SUBHOST_INIT: join(shareDir(), 'subhost-init'),
    SUBHOST_INIT_ENV: env.join(' '),
    SUBHOST_SESSION: session,
  };
}
