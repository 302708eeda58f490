import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { spawnPath } from '../../src/host/exec';
import { spawnGroup } from '../../src/host/spawn-group';

/** Alive and not a zombie (a zombie waits for its reaper, which on this VM's init can take a second). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

type Ended = { error?: Error; code?: number | null; signal?: string | null };

/** Start argv with spawnGroup; resolves with how it ended, its output once both pipes closed, and the child. */
function started(argv: string[]) {
  let end!: (e: Ended) => void;
  const ended = new Promise<Ended>((r) => (end = r));
  const child = spawnGroup(argv, { PATH: process.env.PATH }, '/', { error: (error) => end({ error }), exit: (code, signal) => end({ code, signal }) });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b));
  const closed = new Promise<string>((r) => child.stdout.on('close', () => r(out)));
  return { child, ended, closed };
}

/** spawnGroup's contract, the same on both spawn paths (spawn-group.test.ts native, spawn-group-node.test.ts child_process). */
export function groupContract(path: 'native' | 'node'): void {
  describe(`spawnGroup (${path})`, () => {
    it('takes the path asked for', () => {
      expect(spawnPath()).toBe(path);
    });

    it('gives the output, the exit code and the signal', async () => {
      const a = started(['sh', '-c', 'echo hi; exit 3']);
      expect(await a.ended).toEqual({ code: 3, signal: null });
      expect(await a.closed).toBe('hi\n');
      const b = started(['sh', '-c', 'kill -TERM $$']);
      expect(await b.ended).toEqual({ code: null, signal: 'SIGTERM' });
    });

    it('kills the whole group: a job left in the background holding stdout goes with it', async () => {
      const a = started(['sh', '-c', 'sleep 1000 & echo $!']);
      expect((await a.ended).code).toBe(0);
      a.child.killGroup();
      // The pipe closes only once the job is dead.
      const pid = Number((await a.closed).trim());
      await a.child.groupGone(50);
      expect(running(pid)).toBe(false);
    });

    it('refuses an argument with a NUL byte, as child_process does, before starting anything', () => {
      const events = { error: () => undefined, exit: () => undefined };
      expect(() => spawnGroup(['sh', '-c', 'echo a\0b'], { PATH: process.env.PATH }, '/', events)).toThrow(/NUL byte|null bytes/);
    });

    it('reports a program that cannot start', async () => {
      expect((await started(['/nonexistent/prog']).ended).error).toMatchObject({ code: 'ENOENT' });
    });
  });
}
