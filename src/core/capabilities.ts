/**
 * Capabilities removed from a subhost's bounding set (setpriv --bounding-set), each because a
 * guest never needs it and it reaches the whole host, not just the guest's namespaces.
 * Kept on purpose: SYS_ADMIN (the guest mounts its own disks), NET_ADMIN (its own network
 * namespace), SYS_BOOT (reboot(2) only ends the guest's PID namespace), MKNOD (its /dev).
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
];

export function boundingSetArg(): string {
  return DROPPED_CAPABILITIES.map((c) => `-${c.cap}`).join(',');
}
