import type * as ChildProcess from 'node:child_process';
import type * as Net from 'node:net';

// Node's modules a command needs only when it starts a process (or checks an address), loaded then:
// at the start of every command they cost 4-5 ms here (child_process brings net, dgram and stream),
// and stop, --version and list start none. The CLI's output does not use them (cli/std-streams.ts),
// nor do the pipes of the addon's children (host/pipe-reader.ts).

export function childProcess(): typeof ChildProcess {
  return require('node:child_process') as typeof ChildProcess;
}

export function net(): typeof Net {
  return require('node:net') as typeof Net;
}
