import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { watchExecs } from '../../src/host/proc-connector';
import { waitFor } from '../helpers/env';

describe('the netlink proc connector (native addon)', () => {
  it('hands over the PID of a process this test execs, in a batch, within 2 s', async () => {
    const seen = new Set<number>();
    let batches = 0;
    const w = await watchExecs((pids) => {
      batches += 1;
      for (const p of pids) seen.add(p);
    }, 50);
    try {
      // A shell that execs sleep: one PID, two execs (sh, then sleep in its place).
      const child = spawn('sh', ['-c', 'exec sleep 5'], { stdio: 'ignore' });
      await waitFor('its exec event', () => seen.has(child.pid!), 2000, 10);
      child.kill('SIGKILL');
      expect(batches).toBeGreaterThan(0);
    } finally {
      w.close();
    }
    // Closed: no more batches, and a second close does nothing.
    const after = batches;
    w.close();
    const child = spawn('true', { stdio: 'ignore' });
    await new Promise((r) => child.on('close', r));
    await new Promise((r) => setTimeout(r, 300));
    expect(batches).toBe(after);
  });
});
