import { spawn } from 'node:child_process';
import { closeSync, readFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { writeFd } from '../../src/cli/std-streams';
import { sessionCalls } from '../../src/host/bpf-addon';

const O_NONBLOCK = 0o4000;

describe('writeFd (the CLI\'s output, by write(2))', () => {
  it('writes a text whole to a non-blocking pipe that its reader empties late (EAGAIN: it waits and writes on)', async () => {
    const [r, w] = sessionCalls()!.pipe();
    // libuv makes the descriptor non-blocking, as a parent sharing the pipe may have made the CLI's stdout.
    const socket = new Socket({ fd: w, readable: false, writable: true });
    expect(parseInt(/^flags:\s*(\d+)/m.exec(readFileSync(`/proc/self/fdinfo/${w}`, 'utf8'))![1], 8) & O_NONBLOCK).toBe(O_NONBLOCK);
    const reader = spawn('sh', ['-c', 'sleep 0.3; wc -c'], { stdio: [r, 'pipe', 'inherit'] });
    closeSync(r);
    let counted = '';
    reader.stdout!.on('data', (b: Buffer) => (counted += b));
    const ended = new Promise((resolve) => reader.on('close', resolve));
    const text = 'subhost line\n'.repeat(80_000);
    writeFd(w, text);
    socket.destroy();
    await ended;
    expect(Number(counted.trim())).toBe(Buffer.byteLength(text));
  });
});
