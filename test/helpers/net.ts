import { run } from '../../src/host/exec';
import { ipBatch, ipBatchForce } from '../../src/host/ip';

export async function createBridge(name: string): Promise<void> {
  await ipBatch([`link add ${name} type bridge`, `link set ${name} up`]);
}

export async function deleteBridge(name: string): Promise<void> {
  await ipBatchForce([`link del ${name}`]);
}

/** A test network namespace with one veth on the bridge, eth0 inside with the address. */
export async function createPeer(ns: string, bridge: string, cidr: string): Promise<void> {
  await ipBatch([
    `netns add ${ns}`,
    `link add ${ns}h type veth peer name eth0 netns ${ns}`,
    `link set ${ns}h master ${bridge} up`,
    `netns exec ${ns} ip addr add ${cidr} dev eth0`,
    `netns exec ${ns} ip link set eth0 up`,
    `netns exec ${ns} ip link set lo up`,
  ]);
}

export async function deletePeer(ns: string): Promise<void> {
  await ipBatchForce([`link del ${ns}h`, `netns del ${ns}`]);
}

export async function inNetns(ns: string, argv: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return run(['ip', 'netns', 'exec', ns, ...argv], { allowFailure: true, timeoutMs: 30_000 });
}
