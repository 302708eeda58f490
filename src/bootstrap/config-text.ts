import type { BootstrapRequest } from './options';

function source(req: BootstrapRequest): string {
  if (!req.source) return `an overlay over ${req.layout.kind === 'base' ? req.layout.base : '?'}`;
  return req.source.kind === 'busybox' ? 'busybox' : `debian:${req.source.suite}`;
}

/** The config bootstrap writes: every variable explained, the optional ones commented out, for the operator to edit. */
export function configText(req: BootstrapRequest, date = new Date()): string {
  const L: string[] = [];
  const n = req.name;
  L.push(`# subhost ${n}: made by \`subhost bootstrap\` on ${date.toISOString().slice(0, 10)} from ${source(req)}.`);
  L.push('# A bash file, read with bash: edit it freely, then `subhost poweroff ' + n + '; subhost boot ' + n + '`.');
  L.push('# Every variable is described in the README (Configuration).');
  L.push('');
  if (req.layout.kind === 'disk') {
    L.push('# The root filesystem: image disk1.raw (in this folder), partition 1, /dev/vda1 inside.');
    L.push('# More disks: vdb:1:/path/to/data.raw (dev:partition:image; partition 0 = the whole image).');
    L.push('DISKS=( vda:1:disk1.raw )');
  } else if (req.layout.kind === 'base') {
    L.push(`# An overlay: root/ (this folder) is written, BASE is only read and may be shared.`);
    L.push(`BASE=${req.layout.base}`);
  } else {
    L.push('# The root filesystem is the folder root/ beside this file.');
  }
  L.push('');
  L.push('# One network interface per element, bridge[:MAC]: eth0 is the first; no MAC = a stable one from NAME.');
  L.push(req.bridges.length ? `BRIDGES=( ${req.bridges.join(' ')} )` : '#BRIDGES=( br0 )');
  L.push("# Each interface's address for `subhost dhcp` reservations ('-': none). A static address is");
  L.push("# also in the guest's own network configuration: change both together.");
  const addrs = req.addresses.map((a) => a?.cidr ?? '-');
  L.push(addrs.some((a) => a !== '-') ? `ADDRESSES=( ${addrs.join(' ')} )` : '#ADDRESSES=( 10.0.0.5/24 )');
  L.push('');
  L.push('# The host name inside (default: NAME).');
  L.push(`HOSTNAME=${req.hostname}`);
  L.push('');
  L.push('# Limits (cgroup v2; their v1 equivalents on a hybrid host). Uncomment to set.');
  L.push('#CPUS=1.5        # CPUs');
  L.push('#MEMORY=2G       # memory, bytes with K, M, G');
  L.push('#PIDS=512        # processes and threads');
  L.push('#IO_WEIGHT=100   # 1-10000, relative to other subhosts');
  L.push('');
  L.push('# yes: booted by `subhost autostart` (the subhost-autostart.service) at host start-up.');
  L.push('AUTOSTART=no');
  L.push('# yes: a /dev/net/tun inside (VPNs).');
  L.push('#TUN=yes');
  return L.join('\n') + '\n';
}
