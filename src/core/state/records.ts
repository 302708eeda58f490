import { mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { writeFileAtomic } from '../../host/atomic-file';
import type { SubhostConfig } from '../config/types';
import type { Layout } from '../storage/layout';
import type { Paths } from './paths';
import { isAlive, type ProcRef } from '../../host/proc';

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
}

export function readState(paths: Paths, name: string): StateRecord | undefined {
  try {
    return JSON.parse(readFileSync(paths.stateFile(name), 'utf8')) as StateRecord;
  } catch {
    return undefined;
  }
}

export function writeState(paths: Paths, state: StateRecord): void {
  mkdirSync(paths.runDir(state.name), { recursive: true, mode: 0o755 });
  // /run is tmpfs and cleared at host boot: rename makes it crash-safe for us, fsync would buy nothing.
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
      if (rec.mode === 'boot' && alive(rec.supervisor)) return { state: 'running', busy: 'release', reason: 'PID 1 ended; the supervisor is releasing it' };
      if (rec.mode === 'start' && alive(rec.attached)) return { state: 'running', busy: 'hibernate', reason: `the shell ended; \`subhost start\` (pid ${rec.attached!.pid}) is hibernating it` };
      if (rec.mode === 'start') return { state: 'failed', reason: `the shell (PID 1) ended with no \`subhost start\` left to hibernate the subhost; \`subhost stop ${rec.name}\` cleans up` };
      return { state: 'failed', reason: `PID 1 ended and nothing released the subhost; \`subhost stop ${rec.name}\` cleans up` };
    case 'hibernated':
      return { state: 'hibernated' };
    default:
      return { state: 'failed', reason: `left in phase ${rec.phase}; \`subhost stop ${rec.name}\` cleans up` };
  }
}
