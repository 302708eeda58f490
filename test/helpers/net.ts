import { run } from '../../src/host/exec';

export async function createBridge(name: string): Promise<void> {
  await run(['ip', '-batch', '-'], { input: `link add ${name} type bridge\nlink set ${name} up\n` });
}

export async function deleteBridge(name: string): Promise<void> {
  await run(['ip', 'link', 'del', name], { allowFailure: true });
}

/** A test network namespace with one veth on the bridge, eth0 inside with the address. */
export async function createPeer(ns: string, bridge: string, cidr: string): Promise<void> {
  await run(['ip', '-batch', '-'], {
    input: [`netns add ${ns}`, `link add ${ns}h type veth peer name eth0 netns ${ns}`, `link set ${ns}h master ${bridge} up`].join('\n') + '\n',
  });
  await run(['ip', '-n', ns, '-batch', '-'], { input: `addr add ${cidr} dev eth0\nlink set eth0 up\nlink set lo up\n` });
}

export async function deletePeer(ns: string): Promise<void> {
  await run(['ip', 'link', 'del', `${ns}h`], { allowFailure: true });
  await run(['ip', 'netns', 'del', ns], { allowFailure: true });
}

export async function inNetns(ns: string, argv: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return run(['ip', 'netns', 'exec', ns, ...argv], { allowFailure: true, timeoutMs: 30_000 });
}
