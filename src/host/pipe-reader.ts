import { EventEmitter } from 'node:events';
import type { PipeHandle, SpawnCalls } from './bpf-addon';

/**
 * What the callers read from a child's pipe: a net.Socket over it (Node's child_process path) or a
 * PipeReader (the addon's). Events: 'data' (a Buffer), 'end' (EOF), 'error', then 'close'.
 */
export interface PipeSource {
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  on(event: 'end' | 'close', listener: () => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  once(event: 'close', listener: () => void): unknown;
  removeAllListeners(): unknown;
  destroy(): unknown;
  readonly destroyed: boolean;
  readonly readableEnded: boolean;
}

/**
 * The read end of a pipe, read by the addon on the event loop (native/bpf/pipe-read.c): as a
 * net.Socket is read, without loading node:net and node:stream (7 ms of boot's main thread here).
 * It flows at once: a listener added in the tick that made it sees every byte.
 */
export class PipeReader extends EventEmitter implements PipeSource {
  destroyed = false;
  readableEnded = false;
  private readonly handle: PipeHandle;

  constructor(
    private readonly calls: Pick<SpawnCalls, 'readPipe' | 'closeRead'>,
    fd: number,
  ) {
    super();
    this.handle = calls.readPipe(fd, (chunk, error) => {
      if (chunk) return void this.emit('data', chunk);
      this.destroyed = true;
      if (error) this.emit('error', error);
      else {
        this.readableEnded = true;
        this.emit('end');
      }
      this.emit('close');
    });
  }

  /** Stop reading and close the descriptor; 'close' follows (on the next tick, as a stream's). */
  destroy(): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    this.calls.closeRead(this.handle);
    process.nextTick(() => this.emit('close'));
    return this;
  }
}
