import { ConfigError } from '../../errors';

/** NAME + interface index must fit the kernel's 15-byte interface names, so NAME is at most 13. */
export const NAME_RE = /^[a-z0-9][a-z0-9-]{0,12}$/;

export function checkName(name: string): string {
  if (name === '') throw new ConfigError('NAME is empty');
  if (name.length > 13) throw new ConfigError(`NAME ${JSON.stringify(name)}: longer than 13 characters (NAME plus an interface index must fit in 15 bytes)`);
  if (!NAME_RE.test(name)) throw new ConfigError(`NAME ${JSON.stringify(name)}: use a-z, 0-9 and '-', starting with a letter or digit`);
  return name;
}

/** Host-side interface of element i: NAME0, NAME1, ... */
export function hostIfname(name: string, index: number): string {
  return `${name}${index}`;
}

/** The ifalias on a subhost's host links and on `lo` in its netns: how stop and check-mounts know them. */
export function linkAlias(name: string): string {
  return `subhost:${name}`;
}

export function insideIfname(index: number): string {
  return `eth${index}`;
}

/** RFC 1123 host name: labels of 1-63 of a-z 0-9 '-', not starting or ending with '-', 253 in all. */
export function isValidHostname(h: string): boolean {
  return h.length <= 253 && h.split('.').every((l) => /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(l));
}
