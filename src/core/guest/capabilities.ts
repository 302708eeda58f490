/**
 * Capabilities removed from a subhost's bounding set (setpriv --bounding-set), each because a
 * guest never needs it and it reaches the whole host, not just the guest's namespaces.
 */
export const DROPPED_CAPABILITIES: { cap: string; why: string }[] = [
  { cap: 'sys_module', why: 'loading kernel modules changes the host kernel' },
  { cap: 'sys_rawio', why: 'raw I/O ports and /dev/mem reach the host hardware' },
  { cap: 'sys_time', why: 'the clock is the host clock (hwclock --systohc, date -s)' },
  { cap: 'mac_admin', why: 'the LSM policy (AppArmor, SELinux) is the host policy' },
  { cap: 'mac_override', why: 'bypassing the LSM would bypass it for the host' },
  { cap: 'syslog', why: 'the kernel log ring is shared (dmesg -c clears the host log)' },
  { cap: 'wake_alarm', why: 'wake alarms program the host RTC' },
  { cap: 'block_suspend', why: 'blocking suspend affects the host power state' },
  { cap: 'audit_control', why: 'audit rules are host-wide' },
  { cap: 'dac_read_search', why: 'open_by_handle_at opens any file of the host filesystem under a directory or overlay root ("shocker")' },
];

/** Kept on purpose, though powerful: a sysvinit guest needs them (README, Security). */
export const KEPT_CAPABILITIES: { cap: string; why: string }[] = [
  { cap: 'sys_admin', why: 'the guest mounts its own disks (fstab), /proc, /sys and its /dev' },
  { cap: 'net_admin', why: 'interfaces, addresses and routes of its own network namespace' },
  { cap: 'sys_boot', why: 'reboot(2) inside a PID namespace only ends that namespace' },
  { cap: 'mknod', why: 'subhost-init makes /dev; the device program (and the v1 devices cgroup) decides which nodes can be made and opened' },
];

/** Linux capability numbers (linux/capability.h), index = bit in CapBnd. */
export const CAPABILITY_NAMES = [
  'chown', 'dac_override', 'dac_read_search', 'fowner', 'fsetid', 'kill', 'setgid', 'setuid',
  'setpcap', 'linux_immutable', 'net_bind_service', 'net_broadcast', 'net_admin', 'net_raw',
  'ipc_lock', 'ipc_owner', 'sys_module', 'sys_rawio', 'sys_chroot', 'sys_ptrace', 'sys_pacct',
  'sys_admin', 'sys_boot', 'sys_nice', 'sys_resource', 'sys_time', 'sys_tty_config', 'mknod',
  'lease', 'audit_write', 'audit_control', 'setfcap', 'mac_override', 'mac_admin', 'syslog',
  'wake_alarm', 'block_suspend', 'audit_read', 'perfmon', 'bpf', 'checkpoint_restore',
] as const;

export function boundingSetArg(): string {
  return DROPPED_CAPABILITIES.map((c) => `-${c.cap}`).join(',');
}

/**
 * setpriv's arguments for `subhost enter` (native/bpf/pivot-exec.c makes the same calls for PID 1):
 * the bounding set reduced, and the inheritable and ambient sets emptied, since a capability the
 * caller holds there comes back on exec (root's files have full inheritable sets) whatever the
 * bounding set says.
 */
export function setprivArgs(): string[] {
  return ['--bounding-set', boundingSetArg(), '--inh-caps=-all', '--ambient-caps=-all'];
}

/** The dropped capabilities' numbers, comma-separated: what native/bpf/pivot-exec.c removes from PID 1's bounding set, as setpriv --bounding-set would. */
export function droppedCapabilityNumbers(): string {
  return DROPPED_CAPABILITIES.map((c) => CAPABILITY_NAMES.indexOf(c.cap as (typeof CAPABILITY_NAMES)[number])).join(',');
}

/** The names of the capabilities in a mask as /proc/PID/status prints it (CapBnd: 000001fffeffffff). */
export function capabilitiesInMask(hex: string): string[] {
  const mask = BigInt(`0x${hex.trim()}`);
  return CAPABILITY_NAMES.filter((_, bit) => (mask >> BigInt(bit)) & 1n);
}
