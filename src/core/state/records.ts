import type * as Crypto from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, rmSync, existsSync } from 'node:fs';
import { writeFileAtomic } from '../../host/atomic-file';
import type { SubhostConfig } from '../config/types';
import type { Layout } from '../storage/layout';
import type { Paths } from './paths';
import { isAlive, type ProcRef } from '../../host/proc';
import { readFileOr } from '../../host/read-file';

/** A new boot's id: a random (version 4) UUID, the kernel's, which spares boot loading node:crypto (3-5 ms). */
export function newBootId(): string {
  return readFileOr('/proc/sys/kernel/random/uuid')?.trim() || (require('node:crypto') as typeof Crypto).randomUUID();
}

export const STATES = ['stopped', 'running', 'hibernated', 'failed'] as const;
export type SubhostStateName = (typeof STATES)[number];

export type Phase = 'starting' | 'running' | 'hibernated' | 'stopping';
export type Mode = 'boot' | 'start';

/** A step the executor applied, with what it made: enough for stop to undo it after a crash. */
export interface AppliedStep {
  kind: string;
  id: string;
  params: unknown;
  result: unknown;
  /** What it waited for when applied (its plan's order); undo runs in the reverse order. */
  after?: string[];
}

/** The record under SUBHOST_RUN/NAME/state.json, rewritten (temp + rename) after every step. */
export interface StateRecord {
  version: 1;
  name: string;
  root: string;
  bootId: string;
  mode: Mode;
  phase: Phase;
  /** The command working on the subhost right now; if it died, the subhost is failed. */
  op?: { cmd: string } & ProcRef;
  createdAt: string;
  config: SubhostConfig;
  /** Where the root filesystem comes from, as it was when the subhost started (NAME.img or not). */
  layout?: Layout;
  applied: AppliedStep[];
  pid1?: ProcRef;
  supervisor?: ProcRef;
  /** `subhost start`: the CLI that waits for the shell on its terminal, and hibernates the subhost when it ends. */
  attached?: ProcRef;
  warnings: string[];
  /** Seconds subhost-init waits between SIGTERM and SIGKILL: a guest's reboot boots with the same. */
  graceSeconds?: number;
  /** Guest reboots in a row that came soon after their boot (a reboot loop), and when the next boot is due. */
  rebootStreak?: number;
  rebootAt?: string;
}

/** A record as read: absent (no runtime folder), or corrupt (unreadable, truncated, incomplete, or its folder without it). */
export interface RecordRead {
  record?: StateRecord;
  corrupt?: string;
}

function isRecord(r: unknown, name: string): r is StateRecord {
  const x = r as StateRecord | null;
  return !!x && typeof x === 'object' && x.version === 1 && x.name === name && typeof x.root === 'string' && typeof x.bootId === 'string' && !!x.config && Array.isArray(x.applied) && Array.isArray(x.config.disks) && Array.isArray(x.config.bridges);
}

/** NAME's record; a record that exists but cannot be used is `corrupt`, never taken for "no record". */
export function readRecord(paths: Paths, name: string): RecordRead {
  let text: string;
  try {
    text = readFileSync(paths.stateFile(name), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return { corrupt: `state.json cannot be read (${(err as NodeJS.ErrnoException).code})` };
    return existsSync(paths.runDir(name)) ? { corrupt: 'state.json is missing from its runtime folder' } : {};
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { corrupt: `state.json is not valid JSON (${text.length} bytes: truncated?)` };
  }
  return isRecord(parsed, name) ? { record: parsed } : { corrupt: 'state.json is incomplete' };
}

/** The record, when there is a usable one (see readRecord for why there is not). */
export function readState(paths: Paths, name: string): StateRecord | undefined {
  return readRecord(paths, name).record;
}

export function writeState(paths: Paths, state: StateRecord): void {
  mkdirSync(paths.runDir(state.name), { recursive: true, mode: 0o755 });
  // Complete or absent to every process: every byte written, then renamed over the old record. No
  // fsync (a boot wrote ~10, on the main thread): /run is cleared at host boot (SPEC), so only a
  // kill can interrupt a write, and a killed process's writes are the kernel's already.
  writeFileAtomic(paths.stateFile(state.name), JSON.stringify(state, null, 1) + '\n', 0o644, false);
}

export function removeRuntimeDir(paths: Paths, name: string): void {
  rmSync(paths.runDir(name), { recursive: true, force: true });
}

/** Names that have runtime state (active, or left over by a crash). */
export function namesWithState(paths: Paths): string[] {
  try {
    return readdirSync(paths.run, { withFileTypes: true })
      .filter((d) => d.isDirectory() && !d.name.startsWith('.'))
      .map((d) => d.name);
  } catch {
    return [];
  }
}

export interface DerivedState {
  state: SubhostStateName;
  /** A command in progress, or a release the supervisor is doing after the guest powered off. */
  busy?: string;
  reason?: string;
}

/** The four states of SPEC §3 from the record and the processes it names. Pure apart from /proc reads. */
export function deriveState(rec: StateRecord | undefined, alive: (ref?: ProcRef) => boolean = isAlive): DerivedState {
  if (!rec) return { state: 'stopped' };
  if (rec.op) {
    if (!alive(rec.op)) return { state: 'failed', reason: `\`subhost ${rec.op.cmd}\` (pid ${rec.op.pid}) was interrupted; \`subhost stop ${rec.name}\` cleans up` };
    const before: SubhostStateName = rec.phase === 'starting' ? 'stopped' : rec.phase === 'hibernated' ? 'hibernated' : 'running';
    return { state: before, busy: rec.op.cmd };
  }
  switch (rec.phase) {
    case 'running':
      if (alive(rec.pid1)) return { state: 'running' };
      if (rec.mode === 'boot' && alive(rec.supervisor)) {
        if (rec.rebootAt) return { state: 'running', busy: 'release', reason: `reboot loop: ${rec.rebootStreak} quick reboots in a row; booting again at ${rec.rebootAt}` };
        return { state: 'running', busy: 'release', reason: 'PID 1 ended; the supervisor is releasing it' };
      }
      if (rec.mode === 'start' && alive(rec.attached)) return { state: 'running', busy: 'hibernate', reason: `the shell ended; \`subhost start\` (pid ${rec.attached!.pid}) is hibernating it` };
      if (rec.mode === 'start') return { state: 'failed', reason: `the shell (PID 1) ended with no \`subhost start\` left to hibernate the subhost; \`subhost stop ${rec.name}\` cleans up` };
      return { state: 'failed', reason: `PID 1 ended and nothing released the subhost; \`subhost stop ${rec.name}\` cleans up` };
    case 'hibernated':
      return { state: 'hibernated' };
    default:
      return { state: 'failed', reason: `left in phase ${rec.phase}; \`subhost stop ${rec.name}\` cleans up` };
  }
}

/**
 * The state from what was read and, without a record, from what the kernel shows of NAME
 * (`evidence`: its cgroup, supervisor, marked links or mounts): a corrupt or lost record means
 * `failed`, never `stopped`, so nothing treats a live guest's images and MACs as free.
 */
export function deriveRead(name: string, read: RecordRead, evidence: () => string | undefined, alive: (ref?: ProcRef) => boolean = isAlive): DerivedState {
  if (read.corrupt) return { state: 'failed', reason: `its record is unusable: ${read.corrupt}; \`subhost stop ${name}\` releases what it holds` };
  if (read.record) return deriveState(read.record, alive);
  const seen = evidence();
  return seen ? { state: 'failed', reason: `it has no record, but ${seen} is there; \`subhost stop ${name}\` releases it` } : { state: 'stopped' };
}
