import { writeSync } from 'node:fs';

/**
 * The CLI writes its output with write(2) on fd 1 and 2, not through process.stdout and stderr:
 * creating those streams loads node:net and node:stream (stdout as a pipe or a terminal is a
 * net.Socket; 4-5 ms of every command's start here), for output Node writes synchronously anyway
 * (pipes, terminals and files, on Linux); every command's output goes through cli/format/output.ts.
 * What still uses the streams (logs' copy of a log, report, the daemon, bootstrap's progress, enter)
 * creates them as before, and gets the EPIPE handling below when it does.
 */
const created: NodeJS.WriteStream[] = [];

/** A full non-blocking pipe: wait a millisecond, then write again. */
const pause = new Int32Array(new SharedArrayBuffer(4));

/** Write text whole to fd (1, 2). The reader of stdout gone (subhost list | head): the output ends there, as the command does. */
export function writeFd(fd: number, text: string): void {
  let buf = Buffer.from(text);
  while (buf.length > 0) {
    try {
      buf = buf.subarray(writeSync(fd, buf));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') Atomics.wait(pause, 0, 0, 1);
      else if (code === 'EPIPE') return endOnEpipe(fd);
      else throw err;
    }
  }
}

function endOnEpipe(fd: number): void {
  if (fd === 1) process.exit(process.exitCode ?? 0);
}

/** Note process.stdout and stderr as they are created (without creating them), and end on stdout's EPIPE. */
export function watchStdStreams(): void {
  for (const name of ['stdout', 'stderr'] as const) {
    const d = Object.getOwnPropertyDescriptor(process, name);
    if (!d?.get || !d.configurable) {
      created.push(process[name]);
      continue;
    }
    const get = d.get;
    let stream: NodeJS.WriteStream | undefined;
    Object.defineProperty(process, name, {
      configurable: true,
      enumerable: d.enumerable,
      get() {
        if (!stream) {
          stream = get.call(process) as NodeJS.WriteStream;
          created.push(stream);
          if (name === 'stdout') {
            stream.on('error', (err: NodeJS.ErrnoException) => {
              if (err.code === 'EPIPE') return endOnEpipe(1);
              throw err;
            });
          }
        }
        return stream;
      },
    });
  }
}

/** The streams created so far (fast-exit waits for what they have not written yet). */
export function createdStdStreams(): readonly NodeJS.WriteStream[] {
  return created;
}
