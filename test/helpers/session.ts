import { spawn, type ChildProcess } from 'node:child_process';
import { BIN } from './cli';
import { waitFor } from './env';

/** A `subhost start` (or any command) that keeps running while the test talks to it through stdin. */
export interface Session {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  write: (text: string) => void;
  /** Wait until stdout holds text. */
  expectOutput: (text: string | RegExp, timeoutMs?: number) => Promise<void>;
  /** Close stdin (the shell exits at EOF) and wait for the exit. */
  end: () => Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The process ended and its output is closed (also by whatever inherited it). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The process itself ended. */
  died: Promise<void>;
  /** Kill what the session started (the command, and the feeder of its stdin). */
  kill: () => void;
}

/**
 * Run argv with the test writing its stdin. The stdin is a pipe from a `cat` of the test's own,
 * not one tied to the child: node closes a child's stdin pipe when the child dies, and a
 * command that outlives a killed `subhost start` (its shell) must keep reading.
 */
function session(argv: string[], env: Record<string, string | undefined>): Session {
  const feeder = spawn('cat', [], { stdio: ['pipe', 'pipe', 'ignore'] });
  const child = spawn(argv[0], argv.slice(1), { env: { ...process.env, ...env } as NodeJS.ProcessEnv, stdio: [feeder.stdout!, 'pipe', 'pipe'] });
  feeder.stdout!.destroy();
  const died = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  let out = '';
  let err = '';
  child.stdout!.on('data', (b) => (out += b));
  child.stderr!.on('data', (b) => (err += b));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  const matches = (t: string | RegExp) => (typeof t === 'string' ? out.includes(t) : t.test(out));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    write: (text) => feeder.stdin!.write(text),
    expectOutput: async (text, timeoutMs = 15_000) => {
      try {
        await waitFor(`output ${text}`, () => matches(text), timeoutMs);
      } catch (e) {
        throw new Error(`${(e as Error).message}; stdout so far: ${JSON.stringify(out)}; stderr: ${JSON.stringify(err)}`);
      }
    },
    end: () => {
      feeder.stdin!.end();
      return exited;
    },
    exited,
    died,
    kill: () => {
      child.kill('SIGKILL');
      feeder.kill('SIGKILL');
    },
  };
}

/** `subhost start NAME` reading commands from a pipe. */
export function startFromPipe(name: string, root: string, env: Record<string, string> = {}): Session {
  return session([BIN, 'start', name], { SUBHOST_ROOT: root, ...env });
}

/** `subhost start NAME` on a terminal: script(1) gives it a pseudo-terminal as its stdin. */
export function startOnTerminal(name: string, root: string): Session {
  return session(['script', '--quiet', '--return', '--command', `${process.execPath} ${BIN} start ${name}`, '/dev/null'], { SUBHOST_ROOT: root, TERM: 'xterm' });
}
