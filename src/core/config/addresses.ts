import { net } from '../../host/lazy-builtins';

/** One interface's address: what ADDRESSES and `bootstrap --address` hold. */
export interface InterfaceAddress {
  /** 10.0.0.5/24 */
  cidr: string;
  ip: string;
  prefix: number;
}

function ipv4Number(ip: string): number {
  return ip.split('.').reduce((v, o) => v * 256 + Number(o), 0);
}

/** Why an address cannot be a host's interface address, or undefined (IPv4 only: DHCP reservations are v4). */
export function addressProblem(text: string): string | undefined {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(text);
  if (!m) return 'expected an address with its prefix length, e.g. 10.0.0.5/24';
  const [, ip, p] = m;
  if (!net().isIPv4(ip)) return `${ip} is not an IPv4 address`;
  const prefix = Number(p);
  if (prefix < 1 || prefix > 32) return `prefix length /${prefix} must be from 1 to 32`;
  const n = ipv4Number(ip);
  const first = n >>> 24;
  if (first === 0) return `${ip} is in 0.0.0.0/8 ("this network"), not a host address`;
  if (first === 127) return `${ip} is a loopback address`;
  if (first >= 224 && first < 240) return `${ip} is a multicast address`;
  if (first >= 240) return `${ip} is a reserved or broadcast address`;
  if (prefix <= 30) {
    const host = n % 2 ** (32 - prefix);
    if (host === 0) return `${ip} is the network address of ${text}, not a host address`;
    if (host === 2 ** (32 - prefix) - 1) return `${ip} is the broadcast address of ${text}`;
  }
  return undefined;
}

export function parseAddress(text: string): InterfaceAddress {
  const [ip, prefix] = text.split('/');
  return { cidr: text, ip, prefix: Number(prefix) };
}

/**
 * ADDRESSES=( CIDR|- … ): one per BRIDGES element ('-': none). Returns one entry per interface
 * (undefined for none), or throws with the element and the reason.
 */
export function parseAddresses(elements: string[], bridgeCount: number, fail: (what: string, value: string | undefined, why: string) => never): (InterfaceAddress | undefined)[] {
  if (elements.length === 0) return Array.from({ length: bridgeCount }, () => undefined);
  if (elements.length !== bridgeCount) {
    fail('ADDRESSES', elements.join(' '), `has ${elements.length} element${elements.length === 1 ? '' : 's'} but BRIDGES has ${bridgeCount}: give one per interface ('-' for none)`);
  }
  const seen = new Map<string, number>();
  return elements.map((e, i) => {
    if (e === '-') return undefined;
    const problem = addressProblem(e);
    if (problem) fail(`ADDRESSES[${i}]`, e, problem);
    const a = parseAddress(e);
    const prev = seen.get(a.ip);
    if (prev !== undefined) fail(`ADDRESSES[${i}]`, e, `address ${a.ip} is also given by ADDRESSES[${prev}]`);
    seen.set(a.ip, i);
    return a;
  });
}
