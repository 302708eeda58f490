import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { FALLBACK_POLL_MS, waitForPid1End } from '../../src/core/lifecycle/pid1-end';
import { procRef } from '../../src/host/proc';

const dir = mkdtempSync(join(tmpdir(), 'subhost-pid1-end-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function child(seconds: string) {
  const p = spawn('sleep', [seconds], { stdio: 'ignore' });
  return { p, ref: procRef(p.pid!)! };
}

describe('waitForPid1End', () => {
  it('answers on the change of the watched file, well before its fallback poll would', async () => {
    const events = join(dir, 'a.events');
    writeFileSync(events, 'populated 1\n');
    const { p, ref } = child('100');
    const waiting = waitForPid1End(ref, events, Date.now() + 10_000);
    await new Promise((r) => setTimeout(r, 3 * FALLBACK_POLL_MS + 7));
    const t0 = Date.now();
    p.kill('SIGKILL');
    await new Promise((r) => p.once('exit', r));
    writeFileSync(events, 'populated 0\n');
    expect(await waiting).toBe(true);
    // Woken by the watch: a poll would round the wait up to the next step.
    expect(Date.now() - t0).toBeLessThan(FALLBACK_POLL_MS);
  });

  it('polls when there is nothing to watch', async () => {
    const { p, ref } = child('0.05');
    const t0 = Date.now();
    expect(await waitForPid1End(ref, join(dir, 'missing', 'cgroup.events'), Date.now() + 10_000)).toBe(true);
    expect(p.exitCode === 0 || p.exitCode === null).toBe(true);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('gives up at the deadline, the process still running', async () => {
    const events = join(dir, 'b.events');
    writeFileSync(events, 'populated 1\n');
    const { p, ref } = child('100');
    const t0 = Date.now();
    expect(await waitForPid1End(ref, events, Date.now() + 150)).toBe(false);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(145);
    p.kill('SIGKILL');
  });
});
