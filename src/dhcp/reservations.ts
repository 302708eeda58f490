import { existsSync } from 'node:fs';
import { loadConfig } from '../core/config';
import type { SubhostConfig } from '../core/config/types';
import { subhostNames } from '../core/inspect/info';
import { insideIfname } from '../core/config/names';
import type { Runtime } from '../core/state/runtime';
import { asSubhostError, ConfigError } from '../errors';

/** One subhost interface's DHCP reservation. */
export interface Reservation {
  subhost: string;
  interface: string;
  bridge: string;
  mac: string;
  /** From ADDRESSES: 10.0.0.5/24, or absent (a reservation by MAC and name only). */
  cidr?: string;
  ip?: string;
  hostname: string;
}

export function reservationsOf(cfg: SubhostConfig): Reservation[] {
  return cfg.bridges.map((b, i) => {
    const a = cfg.addresses?.[i];
    return { subhost: cfg.name, interface: insideIfname(i), bridge: b.bridge, mac: b.mac, ...(a ? { cidr: a.cidr, ip: a.ip } : {}), hostname: cfg.hostname };
  });
}

/** A MAC, address or host name given to two subhosts (pure): one line naming both. */
export function checkDuplicates(all: Reservation[]): void {
  const seen = new Map<string, Reservation>();
  for (const r of all) {
    const keys: [string, string | undefined][] = [
      ['MAC', r.mac],
      ['address', r.ip],
      ['host name', r.hostname],
    ];
    for (const [what, value] of keys) {
      if (value === undefined) continue;
      const prev = seen.get(`${what} ${value}`);
      // A host name is shared by the interfaces of one subhost; a MAC or address never.
      if (prev && (what !== 'host name' || prev.subhost !== r.subhost)) {
        const where = (x: Reservation) => `${x.subhost} ${x.interface}`;
        throw new ConfigError(`${what} ${value} of ${where(r)} is also ${what === 'address' ? 'in ADDRESSES of' : what === 'MAC' ? 'the MAC of' : 'the host name of'} ${where(prev)}: each must be unique among the subhosts`);
      }
      seen.set(`${what} ${value}`, r);
    }
  }
}

/**
 * Every subhost's reservations, checked for duplicates among all; only those of names if given.
 * `all`: every subhost with a config (what --hosts-dir keeps files for).
 */
export async function collectReservations(rt: Runtime, names: string[] = []): Promise<{ reservations: Reservation[]; subhosts: string[]; all: string[] }> {
  // Subhosts with a config in this root; a runtime dir alone (another root's, or one being made) has no reservation.
  const all = subhostNames(rt).filter((n) => existsSync(rt.paths.config(n)));
  for (const n of names) if (!all.includes(n)) throw new ConfigError(`no subhost ${n} in ${rt.paths.root}`);
  const configs = await Promise.all(
    all.map((n) =>
      loadConfig(rt.paths, n, { env: {} }).catch((err) => {
        throw asSubhostError(err).withContext(n);
      }),
    ),
  );
  const reservations = configs.flatMap(reservationsOf);
  checkDuplicates(reservations);
  const wanted = names.length ? names : all;
  return { reservations: reservations.filter((r) => wanted.includes(r.subhost)), subhosts: wanted, all };
}
