import type { BootstrapRequest } from './options';

/** Files that make a root filesystem this subhost's, the same for every guest kind (pure). */
export function commonGuestFiles(req: BootstrapRequest): Record<string, string> {
  const short = req.hostname.split('.')[0];
  const alias = short === req.hostname ? short : `${req.hostname} ${short}`;
  return {
    'etc/hostname': `${req.hostname}\n`,
    'etc/hosts': `127.0.0.1\tlocalhost\n127.0.1.1\t${alias}\n::1\tlocalhost ip6-localhost ip6-loopback\n`,
    'etc/fstab': req.layout.kind === 'disk'
      ? '# <file system> <mount point> <type> <options> <dump> <pass>\n# / is mounted by subhost before the guest starts; mount -a leaves it as it is.\n/dev/vda1 / ext4 defaults 0 0\n'
      : '# <file system> <mount point> <type> <options> <dump> <pass>\n# / is the folder subhost gives the guest.\n',
  };
}

/** /etc/network/interfaces (ifupdown's format, which busybox's network script reads too). */
export function interfacesFile(req: BootstrapRequest, dhcpClient: 'udhcpc' | 'ifupdown'): string {
  const L = ['# Network interfaces: eth0… are the BRIDGES elements of the subhost config, in order.', '', 'auto lo', 'iface lo inet loopback'];
  req.bridges.forEach((_, i) => {
    const a = req.addresses[i];
    L.push('', `auto eth${i}`);
    if (!a) {
      L.push(`iface eth${i} inet dhcp`);
      if (dhcpClient === 'udhcpc') L.push(`\t# busybox udhcpc asks for a lease; /usr/share/udhcpc/default.script applies it`);
      return;
    }
    L.push(`iface eth${i} inet static`, `\taddress ${a.cidr}`);
    if (a.gateway) L.push(`\tgateway ${a.gateway}`);
  });
  return L.join('\n') + '\n';
}
