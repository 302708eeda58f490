import type { Reservation } from './reservations';

export const FORMATS = ['dnsmasq', 'dnsmasq-hosts', 'isc', 'json'] as const;
export type Format = (typeof FORMATS)[number];

const HEADER = '# DHCP reservations of the subhosts, written by `subhost dhcp`: edit BRIDGES and ADDRESSES in their configs, not this.';

/** dnsmasq takes a name without its domain unless --domain matches; the first label is always right. */
const shortName = (r: Reservation) => r.hostname.split('.')[0];

function hostsLine(r: Reservation): string {
  return [r.mac, r.ip, shortName(r)].filter(Boolean).join(',');
}

/** The reservations in one format (pure). */
export function formatReservations(rs: Reservation[], format: Format): string {
  switch (format) {
    case 'json':
      return JSON.stringify(rs.map((r) => ({ subhost: r.subhost, interface: r.interface, bridge: r.bridge, mac: r.mac, address: r.cidr ?? null, ip: r.ip ?? null, hostname: r.hostname })), null, 2) + '\n';
    case 'dnsmasq':
      return [HEADER, ...rs.map((r) => `dhcp-host=${hostsLine(r)}  # ${r.subhost} ${r.interface} on ${r.bridge}`)].join('\n') + '\n';
    case 'dnsmasq-hosts':
      return [HEADER, ...rs.map((r) => `${hostsLine(r)}  # ${r.subhost} ${r.interface} on ${r.bridge}`)].join('\n') + '\n';
    case 'isc':
      return (
        [HEADER, ...rs.map((r) => [`host ${r.subhost}-${r.interface} {  # on ${r.bridge}`, `  hardware ethernet ${r.mac};`, ...(r.ip ? [`  fixed-address ${r.ip};`] : []), `  option host-name "${r.hostname}";`, '}'].join('\n'))].join('\n') + '\n'
      );
  }
}

/** The file of one subhost in --hosts-dir: its first line says whose it is, so files of gone subhosts are found. */
export function hostsDirFile(subhost: string, rs: Reservation[]): string {
  return [`# subhost dhcp: ${subhost}`, ...rs.map(hostsLine)].join('\n') + '\n';
}

export function hostsDirOwner(text: string): string | undefined {
  return /^# subhost dhcp: ([a-z0-9-]+)\n/.exec(text)?.[1];
}
