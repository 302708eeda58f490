import { ConfigError, quoteArg } from '../errors';
import { NAME_RE } from '../core/config/names';
import type { GntInstance } from './gnt';

/** How a Ganeti instance becomes a subhost: what `--dry-run` and `status` show. */
export interface GntMapping {
  instance: string;
  pnode: string;
  subhost: string;
  hostname: string;
  /** Disk N as vd<a+N>; partition 1 of disk 0 is the root, the other disks whole. */
  disks: { index: number; path?: string; dev: string; part: number }[];
  nics: { index: number; ifname: string; bridge: string; mac: string }[];
}

/** The subhost is named by the instance's first label (a subhost name is at most 13 of a-z 0-9 -). */
export function subhostNameOf(instance: string): string {
  const label = instance.split('.')[0].toLowerCase();
  if (!NAME_RE.test(label)) throw new ConfigError(`instance ${instance}: its first label ${JSON.stringify(label)} cannot name a subhost (1-13 of a-z 0-9 -)`);
  return label;
}

export function mapInstance(inst: GntInstance, diskPaths: (string | undefined)[] = []): GntMapping {
  if (inst.diskCount < 1) throw new ConfigError(`instance ${inst.name}: it has no disk to boot from`);
  if (inst.diskCount > 26) throw new ConfigError(`instance ${inst.name}: ${inst.diskCount} disks; at most 26 map to vda-vdz`);
  return {
    instance: inst.name,
    pnode: inst.pnode,
    subhost: subhostNameOf(inst.name),
    hostname: inst.name,
    disks: Array.from({ length: inst.diskCount }, (_, i) => ({ index: i, path: diskPaths[i], dev: `vd${String.fromCharCode(97 + i)}`, part: i === 0 ? 1 : 0 })),
    nics: inst.nics.map((n, i) => ({ index: i, ifname: `eth${i}`, bridge: n.link, mac: n.mac })),
  };
}

/** The subhost config gnt-start writes (bash, as every config), so a reboot from inside reads the same. */
export function configText(m: GntMapping): string {
  const disks = m.disks.map((d) => {
    if (!d.path) throw new ConfigError(`instance ${m.instance}: disk/${d.index} has no path`);
    return quoteArg(`${d.dev}:${d.part}:${d.path}`);
  });
  return [
    `# Written by \`subhost gnt-start ${m.instance}\` from Ganeti (primary node ${m.pnode}); rewritten at every gnt-start.`,
    `DISKS=( ${disks.join(' ')} )`,
    `BRIDGES=( ${m.nics.map((n) => quoteArg(`${n.bridge}:${n.mac}`)).join(' ')} )`,
    `HOSTNAME=${quoteArg(m.hostname)}`,
    'TUN=yes',
    '',
  ].join('\n');
}

export function mappingLines(m: GntMapping): string[] {
  return [
    `instance ${m.instance} on ${m.pnode} -> subhost ${m.subhost} (host name ${m.hostname}, /dev/net/tun)`,
    ...m.disks.map((d) => `  disk/${d.index} ${d.path ?? '(path from activate-disks)'} -> /dev/${d.dev}${d.part ? `${d.part} (root)` : ''}`),
    ...m.nics.map((n) => `  nic/${n.index} ${n.mac} -> ${n.ifname} on bridge ${n.bridge}`),
  ];
}
