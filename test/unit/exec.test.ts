import { describe, expect, it } from 'vitest';
import { CommandError } from '../../src/errors';
import { run } from '../../src/host/exec';

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
