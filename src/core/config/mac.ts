import { sha256 } from '@noble/hashes/sha2.js';

export function parseMac(text: string): string | undefined {
  const m = /^([0-9a-fA-F]{2})(:[0-9a-fA-F]{2}){5}$/.exec(text);
  return m ? text.toLowerCase() : undefined;
}

export function macBytes(mac: string): number[] {
  return mac.split(':').map((h) => parseInt(h, 16));
}

export function formatMac(bytes: number[]): string {
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** Why a MAC cannot be given to an interface, or undefined when it can. */
export function macProblem(mac: string): string | undefined {
  const b = macBytes(mac);
  if (b.every((x) => x === 0)) return 'the all-zero address';
  if (b[0] & 1) return 'a multicast address (lowest bit of the first byte set)';
  return undefined;
}

/** Stable, locally administered unicast MAC from NAME and index (bit 1 set, bit 0 clear). */
export function deriveMac(name: string, index: number): string {
  // SHA-256 without node:crypto, whose loading costs 3-5 ms of a command's start: the same digest.
  const h = sha256(Buffer.from(`subhost:${name}:${index}`));
  return formatMac([(h[0] & 0xfc) | 0x02, h[1], h[2], h[3], h[4], h[5]]);
}

/** Host end of a veth: fe:... so that a bridge never adopts it as its own address (as libvirt does). */
export function hostSideMac(guestMac: string): string {
  const b = macBytes(guestMac);
  b[0] = 0xfe;
  return formatMac(b);
}
