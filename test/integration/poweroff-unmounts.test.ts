import { spawn } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readFileOr } from '../../src/host/read-file';
import { cli, ok } from '../helpers/cli';
import { waitFor } from '../helpers/env';
import { useDiskSubhost } from '../helpers/booted';
import { leftoversOf } from '../helpers/leaks';
import { bootAndSettle, statusOf } from '../helpers/subhost';

const mountPoints = (pid: number) =>
  (readFileOr(`/proc/${pid}/mountinfo`) ?? '')
    .trim()
    .split('\n')
    .map((l) => l.split(' ')[4]);

// SPEC: at power off PID 1 terminates all, kills, syncs, unmounts and exits.
describe("power off unmounts the guest's filesystems before PID 1 exits", () => {
  const u = useDiskSubhost('u');

  it('leaves only / in its mount namespace, as a host process still in that namespace sees it', async () => {
    const name = u.sub().name;
    await bootAndSettle(u.root, name);
    const pid1 = statusOf(u.root, name).pid1 as number;
    const guestNs = readlinkSync(`/proc/${pid1}/ns/mnt`);
    // A host process that joined the guest's mount namespace keeps it after PID 1 (and the root's loop with it).
    const holder = spawn('nsenter', ['-t', String(pid1), '-m', '--', 'sleep', '60'], { stdio: 'ignore' });
    const ended = new Promise((resolve) => holder.once('exit', resolve));
    try {
      await waitFor('the holder in the guest mount namespace', () => readlinkSync(`/proc/${holder.pid}/ns/mnt`) === guestNs && readFileOr(`/proc/${holder.pid}/comm`)?.trim() === 'sleep', 5000);
      expect(mountPoints(holder.pid!)).toEqual(expect.arrayContaining(['/', '/proc', '/dev', '/data']));
      // The release cannot detach the root's loop while the holder keeps it mounted: this power off reports that.
      cli(['poweroff', name], { root: u.root });
      expect(mountPoints(holder.pid!)).toEqual(['/']);
    } finally {
      holder.kill('SIGKILL');
      await ended;
    }
    ok(['stop', name], { root: u.root });
    expect(leftoversOf(name)).toEqual([]);
  });
});
