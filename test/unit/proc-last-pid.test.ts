import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { lastPid } from '../../src/host/proc';

describe('lastPid (/proc/loadavg)', () => {
  it('is the last PID made: a new process moves it, so the daemon may skip listing /proc while it stays', () => {
    const before = lastPid();
    expect(Number.isInteger(before)).toBe(true);
    spawnSync('true');
    expect(lastPid()).not.toBe(before);
  });
});
