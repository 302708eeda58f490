import { closeSync, mkdtempSync, openSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CommandError } from '../../src/errors';
import { run } from '../../src/host/exec';

/** run()'s contract, the same on both spawn paths (test/unit/exec.test.ts native, exec-node.test.ts child_process). */
export function execContract(): void {
// SPEC §6: every external program is run with LC_ALL=C, from an argv array (never a shell string
  // built from input), and its stderr kept for the error message.
  describe('run', () => {
    it('sets LC_ALL=C over the caller and the extra environment, also in a clean environment', async () => {
      const saved = process.env.LC_ALL;
      process.env.LC_ALL = 'de_DE.UTF-8';
      try {
        expect((await run(['sh', '-c', 'echo "$LC_ALL"'])).stdout).toBe('C\n');
        expect((await run(['sh', '-c', 'echo "$LC_ALL"'], { env: { LC_ALL: 'fr_FR.UTF-8' } })).stdout).toBe('C\n');
        const clean = (await run(['env'], { cleanEnv: true, env: { X: '1' } })).stdout.trim().split('\n').sort();
        expect(clean).toEqual(['LC_ALL=C', expect.stringMatching(/^PATH=/), 'X=1'].sort());
      } finally {
        if (saved === undefined) delete process.env.LC_ALL;
        else process.env.LC_ALL = saved;
      }
    });
  
    it('passes each argument as it is, with no shell between', async () => {
      const hostile = ['$(echo no)', '`echo no`', 'a b', '; echo no', "'", '*'];
      expect((await run(['printf', '%s\\n', ...hostile])).stdout).toBe(hostile.map((a) => `${a}\n`).join(''));
    });
  
    it("throws a CommandError whose message is the program's name and its stderr's first line", async () => {
      const e = await run(['sh', '-c', 'echo out; echo "first reason" >&2; echo second >&2; exit 3']).catch((x) => x);
      expect(e).toBeInstanceOf(CommandError);
      expect(e).toMatchObject({ code: 3, stderr: 'first reason\nsecond\n' });
      expect(e.message).toBe('sh: first reason');
      expect(e.details).toEqual([`command: sh -c 'echo out; echo "first reason" >&2; echo second >&2; exit 3'`, 'second']);
      // With allowFailure, the same status and stderr come back as a result.
      expect(await run(['sh', '-c', 'echo why >&2; exit 4'], { allowFailure: true })).toEqual({ code: 4, signal: null, stdout: '', stderr: 'why\n' });
    });
  
    it('says when a program is missing or ended by a signal with no stderr', async () => {
      await expect(run(['/nonexistent/subhost-no-such-tool'])).rejects.toThrow(/^subhost-no-such-tool: command not found$/);
      await expect(run(['sh', '-c', 'kill -TERM $$'])).rejects.toThrow(/^sh: killed by SIGTERM$/);
      await expect(run(['sleep', '5'], { timeoutMs: 100 })).rejects.toThrow(/^sleep: timed out after 100 ms$/);
    });
  });

  describeChildSetup();
}

/** PIDs of our children that are zombies (exited, nobody reaped them). */
/** This process's open descriptors as "fd:what it is" (a number reused for another file counts as new). */
function openFds(): string[] {
  const dir = '/proc/self/fd';
  return readdirSync(dir).flatMap((fd) => {
    try {
      return [`${fd}:${readlinkSync(`${dir}/${fd}`)}`];
    } catch {
      // readdir's own descriptor, closed already.
      return [];
    }
  });
}

function zombieChildren(): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(ppid) === process.pid && state === 'Z') found.push(Number(name));
    } catch {
      // It ended while we looked.
    }
  }
  return found;
}

function describeChildSetup(): void {
  describe('the child', () => {
    it('starts with default signal dispositions and an empty mask (Node ignores SIGPIPE)', async () => {
      const status = (await run(['grep', '^Sig', '/proc/self/status'])).stdout;
      const mask = (field: string) => BigInt(`0x${new RegExp(`^${field}:\\s*([0-9a-f]+)$`, 'm').exec(status)![1]}`);
      for (const signo of [2, 13, 15]) expect(mask('SigIgn') & (1n << BigInt(signo - 1))).toBe(0n);
      expect(mask('SigBlk')).toBe(0n);
    });

    it('gets the extra descriptors as 3.. and runs in cwd, finding the program in its own PATH', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'pfs-exec-'));
      try {
        const a = openSync(join(dir, 'a'), 'w');
        const b = openSync(join(dir, 'b'), 'w');
        await run(['sh', '-c', 'echo one >&3; echo two >&4; pwd'], { extraFds: [a, b], cwd: dir }).then((r) => expect(r.stdout).toBe(`${dir}\n`));
        closeSync(a);
        closeSync(b);
        expect([readFileSync(join(dir, 'a'), 'utf8'), readFileSync(join(dir, 'b'), 'utf8')]).toEqual(['one\n', 'two\n']);
        writeFileSync(join(dir, 'pfs-tool'), '#!/bin/sh\necho found\n', { mode: 0o755 });
        expect((await run(['pfs-tool'], { env: { PATH: `${dir}:/usr/bin:/bin` } })).stdout).toBe('found\n');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('writes several MiB to stdout and stderr at once and reads several MiB of input, all bytes', async () => {
      const r = await run(['sh', '-c', 'head -c 5000000 /dev/zero & head -c 4000000 /dev/zero >&2; wait']);
      expect([r.stdout.length, r.stderr.length]).toEqual([5_000_000, 4_000_000]);
      const input = Buffer.alloc(8 << 20, 'subhost ');
      expect((await run(['cat'], { input })).stdout).toBe(input.toString());
      // A child that never reads its input: EPIPE is ours to ignore.
      expect((await run(['true'], { input })).code).toBe(0);
    });

    it('ends when the child has exited and its output reached EOF, as child_process does', async () => {
      let t = performance.now();
      const early = await run(['sh', '-c', 'exec >&-; sleep 0.3; echo done >&2']);
      expect(early).toEqual({ code: 0, signal: null, stdout: '', stderr: 'done\n' });
      expect(performance.now() - t).toBeGreaterThanOrEqual(290);
      // A grandchild holding stdout holds the result back until it lets go.
      t = performance.now();
      expect((await run(['sh', '-c', '(sleep 0.3; echo late) & echo early'])).stdout).toBe('early\nlate\n');
      expect(performance.now() - t).toBeGreaterThanOrEqual(290);
    });

    it('refuses an argument C would cut short (a NUL byte) rather than run it shortened', async () => {
      await expect(run(['echo', 'a\0b'])).rejects.toBeInstanceOf(TypeError);
      await expect(run(['env'], { env: { X: 'a\0b' } })).rejects.toBeInstanceOf(TypeError);
    });

    it('runs 50 at once, each with its own result, and leaves no zombie and no descriptor open', async () => {
      const fdsBefore = openFds();
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => run(['sh', '-c', 'echo "out$0"; echo "err$0" >&2; exit $(($0 % 3))', String(i)], { allowFailure: true })),
      );
      results.forEach((r, i) => expect(r).toEqual({ code: i % 3, signal: null, stdout: `out${i}\n`, stderr: `err${i}\n` }));
      await expect(run(['sh', '-c', 'exit 1'])).rejects.toBeInstanceOf(CommandError);
      await expect(run(['/nonexistent/pfs-tool'])).rejects.toThrow(/command not found/);
      expect(zombieChildren()).toEqual([]);
      // The pipes and the pidfds close a loop turn or two after the results. An earlier test's may close meanwhile: only new ones count.
      const opened = () => openFds().filter((fd) => !fdsBefore.includes(fd));
      for (let i = 0; i < 50 && opened().length > 0; i++) await new Promise((r) => setTimeout(r, 10));
      expect(opened()).toEqual([]);
    });
  });
}
