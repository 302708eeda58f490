import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { watchExecs, type Exec } from '../../src/host/proc-connector';
import { waitFor } from '../helpers/env';

describe('the netlink proc connector (native addon)', () => {
  it('hands over a process this test execs (PID, executable, comm), in a batch, within 2 s', async () => {
    const seen = new Map<number, Exec>();
    let batches = 0;
    const w = await watchExecs((execs) => {
      batches += 1;
      for (const e of execs) seen.set(e.pid, e);
    }, 50);
    try {
      // A shell that execs sleep: one PID, two execs (sh, then sleep in its place).
      const child = spawn('sh', ['-c', 'exec sleep 5'], { stdio: 'ignore' });
      // Its last exec is sleep's: the one described.
      await waitFor('its exec event', () => seen.get(child.pid!)?.comm === 'sleep', 2000, 10);
      expect(seen.get(child.pid!)!.exe).toMatch(/\/sleep$/);
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
