import { readFileSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LOG_MAX_BYTES } from '../../src/core/guest/console-log';
import { useBootedSubhost } from '../helpers/booted';
import { waitFor } from '../helpers/env';
import { childrenOf } from '../helpers/procs';

const status = (pid: number) => readFileSync(`/proc/${pid}/status`, 'utf8');
const kib = (pid: number, field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status(pid))?.[1] ?? NaN);

// Issue 12, class 5: the console log is bounded in size and in the copier's memory, and its copier is the guest's cost.
describe('console flood', () => {
  const b = useBootedSubhost('w', { subhost: () => ({ dataDisk: false }) });

  it('an 8 MB line without a newline: the log stays within its cap, the supervisor small, the copier in the guest cgroup', async () => {
    const s = b.status();
    const log = `/run/subhost/.logs/${s.name}.log`;
    expect(b.sh('head -c 8000000 /dev/zero | tr "\\0" x > /dev/console; echo done').stdout).toBe('done\n');
    await waitFor('the flood copied', () => {
      try {
        return readFileSync(log, 'latin1').endsWith('x') || readFileSync(`${log}.1`, 'latin1').endsWith('x');
      } catch {
        return false;
      }
    });
    expect(statSync(log).size).toBeLessThanOrEqual(LOG_MAX_BYTES);
    expect(statSync(`${log}.1`).size).toBeLessThanOrEqual(LOG_MAX_BYTES);
    // Peak RSS of the supervisor: never the line.
    expect(kib(s.supervisor, 'VmHWM')).toBeLessThan(8 * 1024);
    expect(b.sh('echo still here').stdout).toBe('still here\n');
    // The copier is the supervisor's child, and it lives in the subhost's cgroup.
    const copier = await waitFor('the console copier', () => childrenOf(s.supervisor).find((p) => readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'console-copy'));
    expect(readFileSync(`/proc/${copier}/cgroup`, 'utf8')).toContain(`/subhost/${s.name}`);

  });
});
