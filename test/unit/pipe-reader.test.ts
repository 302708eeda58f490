import { spawnSync } from 'node:child_process';
import { closeSync, constants, fstatSync, openSync, readlinkSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { sessionCalls, spawnCalls } from '../../src/host/bpf-addon';
import { PipeReader } from '../../src/host/pipe-reader';

const calls = spawnCalls()!;

/** The pipe a child writes into: its read end (ours), and how the child ended. */
function childWriting(script: string): { fd: number; exited: Promise<[number, number]> } {
  let ended!: (how: [number, number]) => void;
  const exited = new Promise<[number, number]>((r) => (ended = r));
  const fds = calls.spawn(['sh', '-c', script], [`PATH=${process.env.PATH}`], null, [], () => undefined, (code, signo) => ended([code, signo]));
  closeSync(fds.stdin);
  closeSync(fds.stderr);
  return { fd: fds.stdout, exited };
}

type Seen = { chunks: Buffer[]; events: string[] };

function watched(r: PipeReader): { seen: Seen; closed: Promise<Seen> } {
  const seen: Seen = { chunks: [], events: [] };
  r.on('data', (b: Buffer) => seen.chunks.push(b));
  r.on('end', () => seen.events.push('end'));
  r.on('error', (e) => seen.events.push(`error ${(e as NodeJS.ErrnoException).code} ${e.message}`));
  const closed = new Promise<Seen>((resolve) => r.on('close', () => (seen.events.push('close'), resolve(seen))));
  return { seen, closed };
}

function isOpen(fd: number): boolean {
  try {
    fstatSync(fd);
    return true;
  } catch {
    return false;
  }
}

describe('PipeReader (the addon reads a pipe on the event loop, without node:net)', () => {
  it('gives every byte in order, in parts of at most 1 MiB, then end and close, and closes the descriptor', async () => {
    // 3 MiB: far more than a pipe holds, so it is read over many turns of the loop.
    const { fd } = childWriting('head -c 3145728 /dev/zero | tr "\\0" x; printf end');
    const pipe = readlinkSync(`/proc/self/fd/${fd}`);
    const r = new PipeReader(calls, fd);
    const { closed } = watched(r);
    const seen = await closed;
    const text = Buffer.concat(seen.chunks).toString();
    expect(text.length).toBe(3 * 1024 * 1024 + 3);
    expect(text.endsWith('xend')).toBe(true);
    expect(Math.max(...seen.chunks.map((c) => c.length))).toBeLessThanOrEqual(1 << 20);
    expect(seen.events).toEqual(['end', 'close']);
    expect(r).toMatchObject({ destroyed: true, readableEnded: true });
    // Closed by the addon: the number is free, or (reused since) no longer that pipe.
    expect(!isOpen(fd) || readlinkSync(`/proc/self/fd/${fd}`) !== pipe).toBe(true);
  });

  it('ends at once on a pipe whose writer has gone', async () => {
    const [readEnd, writeEnd] = sessionCalls()!.pipe();
    closeSync(writeEnd);
    const { closed } = watched(new PipeReader(calls, readEnd));
    expect(await closed).toEqual({ chunks: [], events: ['end', 'close'] });
  });

  it('destroy() stops reading: no more data, one close, the descriptor closed, and the writer meets a closed pipe', async () => {
    const { fd, exited } = childWriting('while :; do echo line || exit 7; done');
    const r = new PipeReader(calls, fd);
    const { seen, closed } = watched(r);
    await new Promise<void>((resolve) => r.once('data', () => resolve()));
    r.destroy();
    r.destroy();
    const count = seen.chunks.length;
    await closed;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(seen.chunks.length).toBe(count);
    expect(seen.events).toEqual(['close']);
    expect(r).toMatchObject({ destroyed: true, readableEnded: false });
    // The shell's write meets no reader: SIGPIPE (or EPIPE, then exit 7) ends it instead of writing forever.
    const [code, signo] = await exited;
    expect(signo === 13 || code === 7).toBe(true);
  });

  it('reports a read error as an error with its code, then close, and closes the descriptor', async () => {
    // A terminal's master whose other side was opened and closed again: read(2) fails with EIO. perl
    // unlocks it (TIOCSPTLCK), asks its number (TIOCGPTN: the generic ioctl numbers) and opens and closes /dev/pts/N.
    const master = openSync('/dev/ptmx', constants.O_RDWR | constants.O_NOCTTY);
    const unlockOpenClose = 'my $u = pack("L", 0); ioctl(STDIN, 0x40045431, $u) or die "unlockpt: $!"; my $n = pack("L", 0); ioctl(STDIN, 0x80045430, $n) or die "ptsname: $!"; open(my $s, "+<", "/dev/pts/" . unpack("L", $n)) or die "slave: $!"; close $s';
    expect(spawnSync('perl', ['-e', unlockOpenClose], { stdio: [master, 'ignore', 'inherit'] }).status).toBe(0);
    const link = readlinkSync(`/proc/self/fd/${master}`);
    const r = new PipeReader(calls, master);
    const { seen, closed } = watched(r);
    await closed;
    expect(seen.events).toEqual(['error EIO read: Input/output error', 'close']);
    expect(r).toMatchObject({ destroyed: true, readableEnded: false });
    expect(!isOpen(master) || readlinkSync(`/proc/self/fd/${master}`) !== link).toBe(true);
  });

  it('refuses what is not an open descriptor, and a handle it did not make', () => {
    const fd = openSync('/dev/null', 'r');
    closeSync(fd);
    expect(() => calls.readPipe(fd, () => undefined)).toThrow(/readPipe/);
    expect(() => calls.readPipe(-1, () => undefined)).toThrow(/EINVAL|Invalid/);
    expect(() => calls.closeRead({} as never)).toThrow(/closeRead/);
    expect(() => calls.closeRead(undefined as never)).toThrow(/closeRead/);
  });
});
