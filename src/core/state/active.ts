import type { OtherSubhost } from '../config/host-checks';
import type { Runtime } from './runtime';
import { deriveState, namesWithState, readState, type DerivedState, type StateRecord } from './records';

export interface Known {
  name: string;
  record?: StateRecord;
  derived: DerivedState;
}

export function known(rt: Runtime, name: string): Known {
  const record = readState(rt.paths, name);
  return { name, record, derived: deriveState(record) };
}

/** Subhosts other than `except` that hold resources (running, hibernated, failed or busy). */
export function otherActive(rt: Runtime, except: string): OtherSubhost[] {
  return namesWithState(rt.paths)
    .filter((n) => n !== except)
    .map((n) => readState(rt.paths, n))
    .filter((r): r is StateRecord => r !== undefined)
    .map((r) => ({ name: r.name, config: r.config }));
}
