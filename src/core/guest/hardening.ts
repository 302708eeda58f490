/**
 * What subhost-init does to /proc and /sys right after mounting them, before any guest program
 * runs. One table: subhost-init gets it through its environment, status checks it against PID
 * 1's mountinfo, the README lists it. Paths the running kernel lacks are skipped.
 */
export type PathProtection = 'read-only' | 'writable' | 'masked';

export interface ProtectedPath {
  path: string;
  how: PathProtection;
  why: string;
}

export const PROTECTED_PATHS: ProtectedPath[] = [
  { path: '/proc/sys', how: 'read-only', why: "sysctls outside net/ are the host kernel's (vm.*, kernel.*, fs.*)" },
  { path: '/proc/sys/net', how: 'writable', why: "network sysctls belong to the guest's own network namespace" },
  { path: '/proc/sysrq-trigger', how: 'read-only', why: 'a write reboots, crashes or syncs the host' },
  { path: '/proc/bus', how: 'read-only', why: "PCI configuration space of the host's devices" },
  { path: '/proc/irq', how: 'read-only', why: 'interrupt affinity of the host' },
  { path: '/proc/fs', how: 'read-only', why: 'host-wide filesystem settings (nfsd, ext4, xfs)' },
  { path: '/proc/kcore', how: 'masked', why: "the host's memory" },
  { path: '/proc/keys', how: 'masked', why: "keys of the host's users: keyrings are per user namespace, and the guest shares the host's" },
  { path: '/proc/timer_list', how: 'masked', why: 'every host timer and the task that set it' },
  { path: '/proc/sched_debug', how: 'masked', why: 'every host task' },
  { path: '/proc/acpi', how: 'masked', why: 'ACPI event and control files of the host machine' },
  { path: '/proc/scsi', how: 'masked', why: "a write adds or removes the host's SCSI devices" },
  { path: '/sys/firmware', how: 'masked', why: 'ACPI tables, EFI variables and DMI of the host machine' },
];

/** SUBHOST_INIT_* variables for subhost-init: comma-separated paths, in table order. */
export function protectionEnv(): string[] {
  const of = (how: PathProtection) => PROTECTED_PATHS.filter((p) => p.how === how).map((p) => p.path).join(',');
  return [`SUBHOST_INIT_READONLY=${of('read-only')}`, `SUBHOST_INIT_WRITABLE=${of('writable')}`, `SUBHOST_INIT_MASKED=${of('masked')}`];
}
