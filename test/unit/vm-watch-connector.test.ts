import { describe, expect, it } from 'vitest';
import { newCounters } from '../../src/daemon/metrics';
import { VmWatcher } from '../../src/daemon/vm-watch';

/** The watcher with its look at PIDs recorded instead of done (no process is read or moved). */
function watcher() {
  const lines: string[] = [];
  const looked: number[][] = [];
  const w = new VmWatcher({ cgroupMount: '/nonexistent', namePrefix: 'never-a-vm-', log: (l) => lines.push(l), counters: newCounters() });
  const inner = w as unknown as { look: (pids: number[]) => Promise<void>; onExecs: (pids: number[], overrun: boolean) => void };
  inner.look = async (pids) => {
    looked.push(pids);
    await new Promise((r) => setTimeout(r, 5));
  };
  return { lines, looked, onExecs: (pids: number[], overrun = false) => inner.onExecs(pids, overrun) };
}

const settle = () => new Promise((r) => setTimeout(r, 50));

describe('VmWatcher on the proc connector', () => {
  it('looks at the PIDs of each batch, and at a batch that came while it looked once that look is done', async () => {
    const w = watcher();
    w.onExecs([101, 102]);
    w.onExecs([103]);
    await settle();
    expect(w.looked).toEqual([[101, 102], [103]]);
    expect(w.lines).toEqual([]);
  });

  it('after an overrun (events lost) looks at every PID once instead of the batch, so no VM is missed', async () => {
    const w = watcher();
    w.onExecs([104], true);
    await settle();
    expect(w.lines).toEqual(['vm: the proc connector lost events (receive buffer overrun): one scan of every PID']);
    // Every running PID (this process among them); the batch's own are among them if still running.
    expect(w.looked).toHaveLength(1);
    expect(w.looked[0]).toContain(process.pid);
    expect(w.looked[0].length).toBeGreaterThan(1);
  });
});
