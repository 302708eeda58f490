import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../src/host/exec';
import { waitLinksGone } from '../src/host/ip';
import type { BenchWorld } from './fixture';
import { figure, type Figure } from './figures';
import { must, nodeStartEnv } from './run';
import { nowMs, summarize } from './stats';

/** The bench image's one partition starts at 1 MiB (bench/fixture.ts, as peers.ts mounts it). */
const PARTITION_OFFSET = 1024 * 1024;

/**
 * 6. Floors: the same kernel work as a boot and a stop, done by the bare tools on the bench's own
 * image, one tool per operation (as an operator would type them), each timed as our commands are.
 * Added to Node's own start, they are what no Node CLI on this machine can go below: a target
 * under its floor is out of reach here, whatever subhost does.
 */
export async function benchFloors(w: BenchWorld, runs: number, ours: Figure[]): Promise<Figure[]> {
  const image = join(w.root, await w.makeSubhost(901), 'disk.raw');
  const mnt = join(w.root, 'floor-mnt');
  mkdirSync(mnt, { recursive: true });
  const ns = `${w.prefix}flns`;
  const veth = `${w.prefix}flv`;
  const ops = ['attach', 'mount', 'netns', 'veth', 'pid1', 'netns-drop', 'veth-del', 'netns-del', 'umount', 'detach'] as const;
  const t = Object.fromEntries(ops.map((o) => [o, [] as number[]])) as Record<(typeof ops)[number], number[]>;
  const node: number[] = [];
  for (let i = 0; i < runs; i++) {
    node.push(must([process.execPath, '-e', '0'], nodeStartEnv()).ms);
    const attach = must(['losetup', '--find', '--show', '--offset', String(PARTITION_OFFSET), image]);
    const dev = attach.stdout.trim();
    try {
      t.attach.push(attach.ms);
      t.mount.push(must(['mount', '-t', 'ext4', '-o', 'nosuid,nodev', dev, mnt]).ms);
      t.netns.push(must(['ip', 'netns', 'add', ns]).ms);
      t.veth.push(must(['ip', '-batch', '-'], undefined, `link add ${veth} type veth peer name eth0 netns ${ns}\nlink set ${veth} master ${w.bridge} up\n`).ms);
      // PID 1 of new namespaces in the guest's root, running the guest's sh, and its teardown.
      t.pid1.push(must(['unshare', '--fork', '--kill-child', '--pid', '--mount', '--uts', '--ipc', '--propagation', 'private', `--root=${mnt}`, '/bin/sh', '-c', 'exit 0']).ms);
      // Both ways of releasing the network: the namespace alone, the kernel deleting the veth pair with it
      // (as stop does), then again made, the veth by `ip link del` before the namespace.
      const t0 = nowMs();
      must(['ip', 'netns', 'del', ns]);
      if ((await waitLinksGone([veth], 5000)).length) throw new Error(`${veth} still there 5 s after its namespace was deleted`);
      t['netns-drop'].push(nowMs() - t0);
      must(['ip', 'netns', 'add', ns]);
      must(['ip', '-batch', '-'], undefined, `link add ${veth} type veth peer name eth0 netns ${ns}\nlink set ${veth} master ${w.bridge} up\n`);
      t['veth-del'].push(must(['ip', 'link', 'del', veth]).ms);
      t['netns-del'].push(must(['ip', 'netns', 'del', ns]).ms);
      t.umount.push(must(['umount', mnt]).ms);
    } finally {
      await run(['ip', 'link', 'del', veth], { allowFailure: true });
      await run(['ip', 'netns', 'del', ns], { allowFailure: true });
      await run(['umount', mnt], { allowFailure: true });
      t.detach.push(must(['losetup', '--detach', dev]).ms);
    }
  }
  const med = (xs: number[]) => summarize(xs).median;
  const nodeMs = med(node);
  // A boot attaches and mounts beside making the network, then starts PID 1; a stop releases the network beside the disks.
  const boot = nodeMs + Math.max(med(t.attach) + med(t.mount), med(t.netns) + med(t.veth)) + med(t.pid1);
  const network = Math.min(med(t['veth-del']) + med(t['netns-del']), med(t['netns-drop']));
  const stop = nodeMs + Math.max(network, med(t.umount) + med(t.detach));
  const out: Figure[] = [
    figure('floor-node', 'bare: `node -e 0` as bin/subhost starts Node (every command pays it)', 'ms', node),
    figure('floor-attach', 'bare: `losetup --find --show --offset` of the image', 'ms', t.attach),
    figure('floor-mount', 'bare: `mount` of its ext4 partition', 'ms', t.mount),
    figure('floor-netns', 'bare: `ip netns add`', 'ms', t.netns),
    figure('floor-veth', 'bare: one `ip -batch`: veth pair into the netns, on the bridge, up', 'ms', t.veth),
    figure('floor-pid1', 'bare: `unshare --fork --pid --mount --uts --ipc --root` running the guest sh', 'ms', t.pid1),
    figure('floor-netns-drop', 'bare: `ip netns del` with the veth pair inside, until the kernel has deleted it', 'ms', t['netns-drop']),
    figure('floor-veth-del', 'bare: `ip link del` of the veth (RCU wait)', 'ms', t['veth-del']),
    figure('floor-netns-del', 'bare: `ip netns del`', 'ms', t['netns-del']),
    figure('floor-umount', 'bare: `umount`', 'ms', t.umount),
    figure('floor-detach', 'bare: `losetup --detach`', 'ms', t.detach),
    figure('floor-boot', 'floor of boot: node + max(attach+mount, netns+veth) + pid1', 'ms', [boot], 110),
    figure('floor-stop', 'floor of stop: node + max(min(veth-del+netns-del, netns-drop), umount+detach)', 'ms', [stop], 70),
    figure('floor-poweroff', 'floor of poweroff: the floor of stop (a guest with nothing left to stop)', 'ms', [stop], 150),
    figure('floor-boot100', 'floor of 100 sequential boots: 100 × the floor of boot', 's', [(100 * boot) / 1000], 11),
  ];
  const lxc = ['lxc-start', 'lxc-stop'].map((id) => ours.find((f) => f.id === id)?.median);
  if (lxc.every((v) => v !== undefined)) out.push(figure('floor-cycle-lxc', 'floor of boot+stop / lxc-start+lxc-stop (medians)', 'x', [(boot + stop) / (lxc[0]! + lxc[1]!)], 3));
  return out;
}
