import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { cli } from './cli';
import { testName } from './env';
import { findTestLeftovers } from './leaks';

/** Bad input: exit code, exactly one line `subhost: ...` on stderr, nothing on stdout, host unchanged. */
export function expectRefused(root: string, args: string[], code: number, message: RegExp, input?: string): void {
  const before = findTestLeftovers();
  const r = cli(args, { root, input });
  expect(r.code, r.stderr).toBe(code);
  expect(r.stderr.split('\n')).toHaveLength(2);
  expect(r.stderr).toMatch(/^subhost: /);
  expect(r.stderr).toMatch(message);
  expect(r.stdout).toBe('');
  expect(findTestLeftovers()).toEqual(before);
}

/** A new subhost folder under root holding only this config; returns its name. */
export function withConfig(root: string, config: string): string {
  const name = testName('x');
  mkdirSync(join(root, name), { recursive: true });
  writeFileSync(join(root, name, 'config'), config);
  return name;
}
