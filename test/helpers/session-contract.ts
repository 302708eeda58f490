import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnPath } from '../../src/host/exec';
import type { PipeSource } from '../../src/host/pipe-reader';
import { makeFifo, spawnSession } from '../../src/host/spawn-session';

function readAll(s: PipeSource): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    s.on('data', (b: Buffer) => (text += b));
    s.on('end', () => resolve(text));
    s.on('error', () => resolve(text));
  });
}

/** Ended, or a zombie that this VM's init reaps late: our pid is never reaped by us. */
async function ended(pid: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z') return;
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`${pid} still runs`);
}

/** spawnSession's contract (the supervisor's start), the same on both spawn paths. */
export function sessionContract(path: 'native' | 'node'): void {
  describe(`spawnSession and makeFifo (${path})`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'subhost-session-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('takes the path asked for', () => {
      expect(spawnPath()).toBe(path);
    });

    it('starts a session leader with /dev/null, the log on 1 and 2, a pipe on 3 and no other descriptor', async () => {
      const log = join(dir, 'log');
      const logFd = openSync(log, 'a');
      // A descriptor of ours without O_CLOEXEC must not reach it either.
      const stray = openSync(join(dir, 'stray'), 'w');
      const script = 'echo out; echo err >&2; set -- $(cut -d" " -f6 /proc/$$/stat) $$; [ "$1" = "$2" ] && echo leader >&3; ls /proc/$$/fd >&3; readlink /proc/$$/fd/0 >&3';
      const child = spawnSession(['/bin/sh', '-c', script], { PATH: '/usr/bin:/bin' }, logFd);
      closeSync(logFd);
      closeSync(stray);
      expect(child.error).toBeUndefined();
      const fd3 = await readAll(child.fd3);
      await ended(child.pid!);
      const [leader, ...rest] = fd3.trim().split('\n');
      expect(leader).toBe('leader');
      // The shell keeps its own above 9 (a redirection's saved descriptor).
      expect(rest.slice(0, -1).map(Number).filter((fd) => fd < 10).sort()).toEqual([0, 1, 2, 3]);
      expect(rest[rest.length - 1]).toBe('/dev/null');
      expect(readFileSync(log, 'utf8')).toBe('out\nerr\n');
    });

    it('says why a program that cannot run did not start, and its pipe ends', async () => {
      const child = spawnSession(['/nonexistent/sh'], { PATH: '/usr/bin:/bin' }, 1);
      expect(await readAll(child.fd3)).toBe('');
      await new Promise((r) => setTimeout(r, 50));
      expect(child.error).toMatch(/ENOENT|No such file/);
    });

    it('makes a FIFO with the mode asked, and refuses an existing path', async () => {
      const fifo = join(dir, 'console.fifo');
      await makeFifo(fifo, 0o600);
      const st = statSync(fifo);
      expect(st.isFIFO()).toBe(true);
      expect(st.mode & 0o777).toBe(0o600);
      await expect(makeFifo(fifo, 0o600)).rejects.toThrow(/exists/i);
      expect(existsSync(fifo)).toBe(true);
      // Cut at the NUL byte, the path would name another file.
      await expect(makeFifo(join(dir, 'cut\0here'), 0o600)).rejects.toThrow();
      expect(existsSync(join(dir, 'cut'))).toBe(false);
    });
  });
}
