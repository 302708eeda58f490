import { afterAll, beforeAll } from 'vitest';
import { cli, type CliResult } from './cli';
import { makeTestRoot, PREFIX, removeTestRoot, testName } from './env';
import { createDiskSubhost, type DiskSubhost, type DiskSubhostOptions } from './fixtures';
import { createBridge, createPeer, deleteBridge, deletePeer } from './net';
import { bootAndSettle, enterSh, statusOf } from './subhost';

export interface Booted {
  root: string;
  /** The test bridge (with `bridge` or `peerCidr`). */
  bridge?: string;
  /** The test netns on the bridge (with `peerCidr`). */
  peer?: string;
  sub: () => DiskSubhost;
  /** A shell command inside, through `subhost enter`. */
  sh: (script: string) => CliResult;
  status: () => any;
}

export interface BootedOptions {
  /** A test bridge for the subhost's BRIDGES. */
  bridge?: boolean;
  /** A bridge and a test netns on it with this address. */
  peerCidr?: string;
  /** The subhost's fixture; gets the bridge's name when there is one. */
  subhost?: (bridge: string | undefined) => DiskSubhostOptions;
}

/**
 * In a describe block: a disk subhost (and, as asked, a bridge and a test netns on it at
 * peerCidr), made before the tests and not booted; stopped, with everything else, after them.
 */
export function useDiskSubhost(tag: string, opts: BootedOptions = {}): Booted {
  const root = makeTestRoot();
  const bridge = opts.bridge || opts.peerCidr ? `${PREFIX}${tag}b${process.pid % 10000}` : undefined;
  const peer = opts.peerCidr ? `${PREFIX}${tag}p${process.pid % 10000}` : undefined;
  let sub: DiskSubhost | undefined;
  const made: Booted = {
    root,
    bridge,
    peer,
    sub: () => sub!,
    sh: (script) => enterSh(root, sub!.name, script),
    status: () => statusOf(root, sub!.name),
  };
  beforeAll(async () => {
    if (bridge) await createBridge(bridge);
    if (peer) await createPeer(peer, bridge!, opts.peerCidr!);
    sub = await createDiskSubhost(root, testName(tag), opts.subhost?.(bridge) ?? {});
  });
  afterAll(async () => {
    if (sub) cli(['stop', sub.name], { root });
    if (peer) await deletePeer(peer);
    if (bridge) await deleteBridge(bridge);
    removeTestRoot(root);
  });
  return made;
}

/** The same, booted (rc 2 done) before the tests. */
export function useBootedSubhost(tag: string, opts: BootedOptions = {}): Booted {
  const booted = useDiskSubhost(tag, opts);
  beforeAll(async () => {
    await bootAndSettle(booted.root, booted.sub().name);
  });
  return booted;
}
