/** The busybox guest's own files (pure): a sysvinit-like start that subhost-init drives. */
export const BUSYBOX_FILES: Record<string, { content: string; mode?: number }> = {
  'etc/passwd': { content: 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' },
  // Locked: the way in is `subhost enter`, never a password.
  'etc/shadow': { content: 'root:!:20000:0:99999:7:::\nnobody:!:20000:0:99999:7:::\n', mode: 0o640 },
  'etc/group': { content: 'root:x:0:\ntty:x:5:\ndisk:x:6:\nshadow:x:42:\nnogroup:x:65534:\n' },
  'etc/profile': { content: 'export PATH=/usr/sbin:/usr/bin:/sbin:/bin\nexport PS1="\\h:\\w# "\n' },
  'etc/resolv.conf': { content: '' },
  'etc/init.d/rcS': {
    mode: 0o755,
    content: `#!/bin/sh
# System start, run by subhost-init first: mount what /etc/fstab lists, then the /etc/rcS.d scripts.
mount -a
for s in /etc/rcS.d/S*; do
	[ -x "$s" ] && "$s" start
done
`,
  },
  'etc/init.d/rc': {
    mode: 0o755,
    content: `#!/bin/sh
# Enter runlevel $1 (subhost-init runs rc 2): stop /etc/rc$1.d/K*, start /etc/rc$1.d/S*, record it.
for s in /etc/rc$1.d/K*; do
	[ -x "$s" ] && "$s" stop
done
for s in /etc/rc$1.d/S*; do
	[ -x "$s" ] && "$s" start
done
echo "$1" > /run/runlevel
`,
  },
  'etc/init.d/network': {
    mode: 0o755,
    content: `#!/bin/sh
# eth0… as /etc/network/interfaces says: "inet dhcp" by busybox udhcpc, "inet static" by address and gateway.
ifaces() {
	awk '$1 == "iface" && $2 != "lo" { if (i) print i, m, a, g; i = $2; m = $4; a = ""; g = "" }
	     $1 == "address" { a = $2 } $1 == "gateway" { g = $2 }
	     END { if (i) print i, m, a, g }' /etc/network/interfaces
}
case "$1" in
start)
	ip link set lo up
	ifaces | while read -r ifc method addr gw; do
		ip link set "$ifc" up || continue
		if [ "$method" = dhcp ]; then
			# -b: keep asking in the background when no server answers now.
			udhcpc -b -i "$ifc" -p "/run/udhcpc.$ifc.pid" -s /usr/share/udhcpc/default.script
		else
			ip addr add "$addr" dev "$ifc"
			[ -z "$gw" ] || ip route add default via "$gw" dev "$ifc"
		fi
	done
	;;
stop)
	for p in /run/udhcpc.*.pid; do
		[ -f "$p" ] && kill "$(cat "$p")"
	done
	;;
esac
`,
  },
  'usr/share/udhcpc/default.script': {
    mode: 0o755,
    content: `#!/bin/sh
# Applies a busybox udhcpc lease ($ip, $mask, $router, $dns) to $interface.
case "$1" in
deconfig)
	ip addr flush dev "$interface"
	ip link set "$interface" up
	;;
bound | renew)
	if ! ip -o addr show dev "$interface" | grep -q " $ip/$mask "; then
		ip addr flush dev "$interface"
		ip addr add "$ip/$mask" dev "$interface"
	fi
	if [ -n "$router" ]; then
		ip route del default dev "$interface" 2>/dev/null
		for r in $router; do ip route add default via "$r" dev "$interface" && break; done
	fi
	if [ -n "$dns" ]; then
		: > /etc/resolv.conf
		for d in $dns; do echo "nameserver $d" >> /etc/resolv.conf; done
	fi
	;;
esac
exit 0
`,
  },
};

/** rcN.d links: runlevel 2 brings the network up. */
export const BUSYBOX_LINKS: Record<string, string> = {
  'etc/rc2.d/S10network': '../init.d/network',
  'var/run': '../run',
};
