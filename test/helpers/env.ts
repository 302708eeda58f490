import { mkdtempSync, rmSync } from 'node:fs';

/**
 * Every kernel object a test makes is named with this prefix; the leak check looks for it.
 * SUBHOST_TEST_PREFIX (3 letters) lets two test runs share a machine without seeing each other.
 */
export const PREFIX = process.env.SUBHOST_TEST_PREFIX ?? 'tst';
if (!/^[a-z]{3}$/.test(PREFIX)) throw new Error('SUBHOST_TEST_PREFIX must be 3 letters a-z');
/** Test roots of a prefix live here; the leak check looks for mounts and loops under it. */
export const rootPrefixOf = (prefix: string) => `/var/tmp/subhost-test-${prefix}-`;
export const ROOT_PREFIX = rootPrefixOf(PREFIX);

export function makeTestRoot(): string {
  return mkdtempSync(ROOT_PREFIX);
}

export function removeTestRoot(root: string): void {
  rmSync(root, { recursive: true, force: true });
}

/** A unique, valid subhost name with the test prefix (13 characters at most). */
let counter = 0;
export function testName(tag: string): string {
  counter += 1;
  const n = `${PREFIX}${tag}${(process.pid % 1000).toString(36)}${counter.toString(36)}`;
  if (n.length > 11) throw new Error(`test name too long: ${n}`);
  return n;
}

/**
 * A MAC of this test run's own: boot refuses a MAC that any active subhost on the host uses, so a
 * fixed one would collide with another run's. 46 bits: the prefix (15), the PID (23) and n (8),
 * in a locally administered unicast address whose first byte is never fe (host veth ends).
 */
export function testMac(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 255) throw new Error(`testMac(${n}): n must be 0-255`);
  const prefix = [...PREFIX].reduce((v, c) => v * 26 + (c.charCodeAt(0) - 97), 0);
  const v = (BigInt(prefix) << 31n) | (BigInt(process.pid) << 8n) | BigInt(n);
  const bytes = [Number(((v >> 40n) << 2n) | 2n)];
  for (let shift = 32n; shift >= 0n; shift -= 8n) bytes.push(Number((v >> shift) & 255n));
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits stretch by this factor where the machine is emulated (the production-kernel lane under TCG sets it). */
const TIME_SCALE = Number(process.env.SUBHOST_TEST_TIME_SCALE) || 1;

export async function waitFor<T>(what: string, fn: () => T | Promise<T>, timeoutMs = 10_000, everyMs = 50): Promise<T> {
  timeoutMs *= TIME_SCALE;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}
