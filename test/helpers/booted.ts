import { afterAll, beforeAll } from 'vitest';
import { cli, ok, type CliResult } from './cli';
import { makeTestRoot, PREFIX, removeTestRoot, testName, waitFor } from './env';
import { createDiskSubhost, type DiskSubhost, type DiskSubhostOptions } from './fixtures';
import { createBridge, createPeer, deleteBridge, deletePeer } from './net';

export interface Booted {
  root: string;
  bridge: string;
  peer: string;
  sub: () => DiskSubhost;
  /** A shell command inside, through `subhost enter`. */
  sh: (script: string) => CliResult;
  status: () => any;
}

/**
 * In a describe block: a bridge, a test netns on it at peerCidr, and a disk subhost on the bridge,
 * booted (rc 2 done) before the tests and stopped, with everything else, after them.
 */
export function useBootedSubhost(tag: string, peerCidr: string, options: (bridge: string) => DiskSubhostOptions): Booted {
  const root = makeTestRoot();
  const bridge = `${PREFIX}${tag}b${process.pid % 10000}`;
  const peer = `${PREFIX}${tag}p${process.pid % 10000}`;
  let sub: DiskSubhost | undefined;
  const booted: Booted = {
    root,
    bridge,
    peer,
    sub: () => sub!,
    sh: (script) => cli(['enter', sub!.name, '--', '/bin/sh', '-c', script], { root }),
    status: () => JSON.parse(ok(['status', sub!.name, '--json'], { root }).stdout),
  };
  beforeAll(async () => {
    await createBridge(bridge);
    await createPeer(peer, bridge, peerCidr);
    sub = await createDiskSubhost(root, testName(tag), options(bridge));
    ok(['boot', sub.name], { root });
    await waitFor('rc 2 to finish', () => booted.sh('cat /run/rc.ran').stdout.trim() === '2');
  });
  afterAll(async () => {
    if (sub) cli(['stop', sub.name], { root });
    await deletePeer(peer);
    await deleteBridge(bridge);
    removeTestRoot(root);
  });
  return booted;
}
