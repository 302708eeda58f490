import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SubhostError } from '../errors';

/** What one loop device is attached to (LOOP_GET_STATUS64), as `losetup --list` shows it. */
/** One attached loop device as listLoops() reads it: its status, and the backing file's name (and st_rdev, when it is a block device). */
export interface AttachedLoop extends LoopStatus {
  dev: string;
  backingFile: string;
  blockMajor?: number;
  blockMinor?: number;
}

export interface LoopStatus {
  backMajor: number;
  backMinor: number;
  /** Decimal: an inode number may not fit a double. */
  backIno: string;
  offset: number;
  sizeLimit: number;
}

/**
 * What native/bpf exports: bpf(2) for cgroup device programs (bpf.c); host calls boot and stop
 * would otherwise spawn a process for: flock(2), a loop device's status (host.c) and every loop's
 * (loops.c), posix_spawn (spawn.c); for every command's start the bundle's reads (read-file.c, by
 * bin/load-bundle.cjs) and the inherited descriptors' close, and for its end _exit (host.c); and for
 * the daemon the proc connector's exec events (proc_connector.c), its memory calls (memory.c) and
 * its held files' reads (pread_text.c).
 */
export interface BpfAddon {
  /** flock(fd, LOCK_EX or LOCK_SH | LOCK_NB): false when another holds it. */
  tryFlock(fd: number, exclusive: boolean): boolean;
  /** null: the device is not attached (or does not exist). */
  loopStatus(dev: string): LoopStatus | null;
  /** execv(2): this process becomes path with argv (same PID); returns only by throwing. */
  execv?(path: string, argv: string[]): never;
  /** _exit(2) with code: no return, no exit handlers, no teardown. */
  exitNow?(code: number): never;
  /** tmp's content at path, atomically, and tmp gone: renameat2(RENAME_EXCHANGE) then unlink, else rename(2). */
  publishFile?(tmp: string, path: string): void;
  /** Every descriptor above 2 without FD_CLOEXEC closed (what the process inherited); the ones closed. */
  closeInheritedFds?(): number[];
  /** CPU (user + system) of every child waited for, in µs: getrusage(RUSAGE_CHILDREN), for the bench. */
  childrenCpuMicros?(): number;
  /** bin/load-bundle.cjs's reads (read-file.c): a file of ASCII as an external string with its identity ("dev:ino:size:mtime-ns"), null if it is not ASCII. */
  readAscii?(path: string): [string, string] | null;
  /** A file's bytes in an external Buffer (read-file.c). */
  readBytes?(path: string): Buffer;
  /** malloc_trim(0): the C heap's free pages back to the kernel. */
  mallocTrim?(): boolean;
  /** Every attached loop device in one call (loops.c). */
  listLoops?(): AttachedLoop[];
  /**
   * listLoops() of the devices backed by one of these files (major:minor:inode, as LOOP_GET_STATUS64
   * gives them) or whose backing file's path starts with one of prefixes: sysfs read only where a
   * prefix needs the path or the device is listed. At most 64 of each. Walked on libuv's pool.
   */
  listLoopsBacking?(files: string[], prefixes?: string[]): Promise<AttachedLoop[]>;
  /** The text of a held file from offset 0 (pread, latin1); null when the read fails. */
  preadText?(fd: number): string | null;
  /** MADV_DONTNEED on this process's read-only private file mappings without a copy-on-write page; the bytes advised. */
  releaseFilePages?(): number;
  /** The netlink proc connector's exec events (proc_connector.c); throws where the kernel has none. */
  watchExecs?(callback: (pids: number[], exes: string[], comms: string[], overrun: boolean, ack: number) => void, delayMs: number): { fd: number; close(): void };
  loadDeviceProgram(insns: Buffer, name: string, license: string): number;
  attachDeviceProgram(cgroupPath: string, progFd: number, flags: number): void;
  queryDevicePrograms(cgroupPath: string, effective: boolean): { flags: number; ids: number[] };
  programInfo(fdOrId: number | { id: number }): ProgramInfo | null;
  flags: { ALLOW_OVERRIDE: number; ALLOW_MULTI: number };
}

export interface ProgramInfo {
  id: number;
  /** BPF_PROG_TYPE_*: 15 is CGROUP_DEVICE. */
  type: number;
  name: string;
  /** The kernel's hash of the instructions, as bpftool shows it. */
  tag: string;
}

export const ADDON_FILE = 'subhost_bpf.node';
/** The static programs built with the addon (native/bpf): PID 1's way into the guest, and each subhost's supervisor. */
export type NativeProgram = 'pivot-exec' | 'supervisor';

/** dist/ holds a copy beside the bundle (scripts/build.mjs); from src/host/ it is node-gyp's output. */
export function addonCandidates(dir = __dirname, file = ADDON_FILE): string[] {
  return [join(dir, file), join(dir, '..', '..', 'native', 'bpf', 'build', 'Release', file)];
}

const programs = new Map<NativeProgram, string>();

/** native/bpf's program of that name, built with the addon and kept beside it. */
export function nativeProgram(name: NativeProgram): string {
  const known = programs.get(name);
  if (known) return known;
  const file = addonCandidates(__dirname, name).find((f) => existsSync(f));
  if (!file) throw new SubhostError(`native/bpf's ${name} is not built (looked for ${addonCandidates(__dirname, name).join(', ')}): run \`npm ci\` or \`npm run build:native\``);
  programs.set(name, file);
  return file;
}

/** Where bin/load-bundle.cjs leaves the addon it opened (to read the bundle) before the bundle ran: one instance per process. */
const SLOT = Symbol.for('subhost.bpf-addon');
type Holder = { [SLOT]?: BpfAddon };
let addon: BpfAddon | undefined;

export function bpfAddon(): BpfAddon {
  addon ??= (globalThis as Holder)[SLOT];
  if (addon) return addon;
  const file = addonCandidates().find((f) => existsSync(f));
  if (!file) throw new SubhostError(`the bpf addon is not built (looked for ${addonCandidates().join(', ')}): run \`npm ci\` or \`npm run build:native\``);
  // process.dlopen, not require: neither esbuild nor vitest's loader gets to resolve a .node file.
  const mod = { exports: {} as BpfAddon };
  process.dlopen(mod, file);
  addon = (globalThis as Holder)[SLOT] = mod.exports;
  return addon;
}

/** The addon, or undefined where it is not built: for calls that have a fallback (each checks that its functions exist, for an older build). */
export function optionalAddon(): Partial<BpfAddon> | undefined {
  try {
    return bpfAddon();
  } catch {
    return undefined;
  }
}

/** The addon's host calls, or undefined when it is not built or older than host.c (callers fall back on the tool). */
export function hostCalls(): Pick<BpfAddon, 'tryFlock' | 'loopStatus'> | undefined {
  const a = optionalAddon();
  return typeof a?.tryFlock === 'function' && typeof a.loopStatus === 'function' ? (a as BpfAddon) : undefined;
}

/** What session.c exports: how boot starts a supervisor that outlives it. */
export interface SessionCalls {
  /** pipe2(O_CLOEXEC): [read end, write end]. */
  pipe(): [number, number];
  /** mkfifo(2); throws with .code. */
  mkfifo(path: string, mode: number): void;
  /** posix_spawn in a new session; the child's descriptor i is fds[i] (-1: /dev/null) and it has no other. Never reaped here. */
  spawnSession(argv: readonly string[], envp: string[], fds: number[]): number;
}

/** The addon's session calls, or undefined when it is not built or older than session.c. */
export function sessionCalls(): SessionCalls | undefined {
  const a = optionalAddon() as Partial<SessionCalls> | undefined;
  return typeof a?.spawnSession === 'function' && typeof a.pipe === 'function' && typeof a.mkfifo === 'function' ? (a as SessionCalls) : undefined;
}

/** What teardown.c, loop-attach.c and mount.c export: the system calls of umount(8), losetup and mount(8), on a thread of the pool. */
export interface TeardownCalls {
  /** umount2(path, UMOUNT_NOFOLLOW [| MNT_DETACH]); rejects with .code (EBUSY, EINVAL: not a mount point). */
  umount(path: string, lazy: boolean): Promise<void>;
  /** LOOP_CLR_FD (the kernel detaches it on its last close); rejects with .code (ENXIO: not attached). */
  detachLoop(dev: string): Promise<void>;
  /** LOOP_CTL_GET_FREE and LOOP_CONFIGURE (loop-attach.c) on file opened read-write: the device; rejects with .code (ENOTTY/EINVAL: no LOOP_CONFIGURE). */
  attachLoop(file: string, offset: number, sizeLimit: number, partscan: boolean): Promise<string>;
  /** mount(2) (mount.c; absent from an older addon); type and data '' for none; rejects with .code. */
  mount?(source: string, target: string, type: string, flags: number, data: string): Promise<void>;
}

/** The addon's teardown calls, or undefined when it is not built or older than teardown.c. */
export function teardownCalls(): TeardownCalls | undefined {
  const a = optionalAddon() as Partial<TeardownCalls> | undefined;
  return typeof a?.umount === 'function' && typeof a.detachLoop === 'function' && typeof a.attachLoop === 'function' ? (a as TeardownCalls) : undefined;
}

/** What netns.c exports: `ip netns add` with lo up and marked, on a thread of the pool. */
export interface NetnsCalls {
  /** A network namespace bound at path, its lo up with alias set before the bind; rejects with .code (EEXIST), leaving no file. */
  addNetns(path: string, alias: string): Promise<void>;
}

/** The addon's network namespace call, or undefined when it is not built or older than netns.c. */
export function netnsCalls(): NetnsCalls | undefined {
  const a = optionalAddon() as Partial<NetnsCalls> | undefined;
  return typeof a?.addNetns === 'function' ? (a as NetnsCalls) : undefined;
}

/** What veth.c exports: `ip -batch`'s two requests for a veth pair, on a thread of the pool. */
export interface VethCalls {
  /** The pair, down: host (with hostMac) here, inside (with mac) in the namespace at netnsPath; rejects with .code (EEXIST). */
  addVeth(netnsPath: string, host: string, hostMac: string, inside: string, mac: string): Promise<void>;
  /** The host end marked with alias, enslaved to bridge and up, in one request; rejects with .code. */
  markVeth(host: string, alias: string, bridge: string): Promise<void>;
}

/** The addon's veth calls, or undefined when it is not built or older than veth.c. */
export function vethCalls(): VethCalls | undefined {
  const a = optionalAddon() as Partial<VethCalls> | undefined;
  return typeof a?.addVeth === 'function' && typeof a.markVeth === 'function' ? (a as VethCalls) : undefined;
}

/** What netns-addrs.c exports: `ip -n NAME addr show`'s netlink dump, in each namespace in turn on one thread of its own. */
export interface NetnsAddressCalls {
  /** For each namespace file, its addresses as lines "IFNAME FAMILY LOCAL PREFIXLEN SCOPE", or an Error (.code) where it cannot be entered. */
  netnsAddresses(paths: string[]): Promise<(string | Error)[]>;
}

/** The addon's address call, or undefined when it is not built, older than netns-addrs.c, or SUBHOST_SPAWN=node. */
export function netnsAddressCalls(): NetnsAddressCalls | undefined {
  const a = optionalAddon() as Partial<NetnsAddressCalls> | undefined;
  return typeof a?.netnsAddresses === 'function' ? (a as NetnsAddressCalls) : undefined;
}

/** What blkid.c exports: partx --show's and blkid -p's libblkid calls, on a thread of the pool. */
export interface BlkidCalls {
  /** partx's NR, START and SECTORS (512-byte sectors) and the last one's SCHEME; scheme '' and no partitions where partx fails. */
  partitionTable(path: string): Promise<{ scheme: string; partitions: { index: number; start: number; sectors: number }[]; truncated: boolean }>;
  /** blkid -p's TYPE of bytes [offset, offset+size) (size 0: to the end), '' where it prints none. */
  filesystemType(path: string, offset: number, size: number): Promise<string>;
}

/** The addon's libblkid calls, or undefined when it is not built or older than blkid.c. */
export function blkidCalls(): BlkidCalls | undefined {
  const a = optionalAddon() as Partial<BlkidCalls> | undefined;
  return typeof a?.partitionTable === 'function' && typeof a.filesystemType === 'function' ? (a as BlkidCalls) : undefined;
}

/** What spawn.c exports: posix_spawn with pipes, the child reaped through a pidfd on the event loop. */
export interface SpawnCalls {
  /** The parent's pipe ends at once; onStart once posix_spawn returned (error code ENOENT etc.), onExit once the child was reaped. */
  spawn(
    argv: readonly string[],
    envp: string[],
    cwd: string | null,
    extraFds: number[],
    onStart: (error: NodeJS.ErrnoException | undefined, pid: number) => void,
    onExit: (code: number, signo: number) => void,
    /** The child leads a process group of its own (setpgid(0, 0)), to be killed as a whole. */
    newGroup?: boolean,
  ): { stdin: number; stdout: number; stderr: number };
  /** pidfd_open and waitid(P_PIDFD) exist (Linux 5.4). */
  spawnSupported(): boolean;
  /** kill(-pgid, signo): false when no process of the group is left (ESRCH), without an exception. */
  signalGroup?(pgid: number, signo: number): boolean;
  /**
   * Read fd (made non-blocking, then ours) on the event loop (pipe-read.c): callback(bytes) as they
   * come, then callback(null) at EOF or callback(null, error with .code) on an error; the fd is closed then.
   */
  readPipe(fd: number, callback: (chunk: Buffer | null, error?: NodeJS.ErrnoException) => void): PipeHandle;
  /** No more callbacks, the fd closed; again, or after the end, nothing. */
  closeRead(handle: PipeHandle): void;
}

/** What readPipe gives, for closeRead. */
export type PipeHandle = { readonly pipeHandle: unique symbol };

/** The addon's spawn, or undefined when it is not built, older than spawn.c, or the kernel lacks pidfds. */
export function spawnCalls(): SpawnCalls | undefined {
  const a = optionalAddon() as Partial<SpawnCalls> | undefined;
  return typeof a?.spawn === 'function' && typeof a.readPipe === 'function' && typeof a.spawnSupported === 'function' && a.spawnSupported() ? (a as SpawnCalls) : undefined;
}
