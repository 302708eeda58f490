/**
 * `npm run demo`: with no configuration at all, build a busybox disk image, a bridge and a peer
 * network namespace, boot a subhost from the image, show it working, power it off, and show
 * that nothing is left. Everything it makes is named shdemo* and removed at the end.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildBusyboxRoot, DEFAULT_GUEST_FILES } from '../test/fixtures/image/busybox-root';
import { makeDiskImage } from '../test/fixtures/image/disk-image';
import { quoteArg } from '../src/errors';
import { BIN, cli } from '../test/helpers/cli';
import { waitFor } from '../test/helpers/env';
import { createBridge, createPeer, deleteBridge, deletePeer } from '../test/helpers/net';

// Every name is shdemo*: the demo stops and removes what has its names, never an operator's own.
const ROOT = '/var/tmp/shdemo';
const NAME = 'shdemo';
const BRIDGE = 'shdemo-br0';
const PEER = 'shdemo-peer';
const env = { ...process.env, SUBHOST_ROOT: ROOT };

const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);

function say(text: string): void {
  process.stdout.write(`\n${bold(`# ${text}`)}\n`);
}

/** Show a command the way an operator would type it, run it, and fail the demo if it fails. */
function sh(argv: string[], show = argv.join(' ')): void {
  process.stdout.write(bold(`$ ${show}`) + '\n');
  const r = spawnSync(argv[0], argv.slice(1), { stdio: 'inherit', env });
  if (r.status !== 0) throw new Error(`${show} exited with ${r.status}`);
}

function subhost(...args: string[]): void {
  sh([process.execPath, BIN, ...args], `subhost ${args.map(quoteArg).join(' ')}`);
}

async function buildImage(): Promise<void> {
  // Other users must not reach live/: boot refuses a subhost folder they can traverse.
  mkdirSync(join(ROOT, NAME), { recursive: true, mode: 0o700 });
  chmodSync(join(ROOT, NAME), 0o700);
  const tree = mkdtempSync('/tmp/shdemo-root-');
  try {
    await buildBusyboxRoot(tree, {
      ...DEFAULT_GUEST_FILES,
      'etc/fstab': { content: '/dev/vdb1 /data ext4 defaults 0 0\n' },
      'etc/network.sh': { mode: 0o755, content: '#!/bin/sh\nip addr add 10.77.0.2/24 dev eth0\nip link set eth0 up\n' },
      'etc/rc2.d/S50httpd': { mode: 0o755, content: '#!/bin/sh\necho "httpd: serving /www on port 80"\nhttpd -p 80 -h /www\n' },
      'www/index.html': { content: 'Hello from inside the shdemo subhost!\n' },
    });
    await makeDiskImage(join(ROOT, NAME, 'disk1.raw'), { sizeMiB: 64, from: tree });
    await makeDiskImage(join(ROOT, NAME, 'data.raw'), { sizeMiB: 32 });
  } finally {
    rmSync(tree, { recursive: true, force: true });
  }
  writeFileSync(
    join(ROOT, NAME, 'config'),
    ['# subhost shdemo: a partitioned busybox image as root, a data disk, one NIC on a bridge', `DISKS=( vda:1:${ROOT}/${NAME}/disk1.raw vdb:1:data.raw )`, `BRIDGES=( ${BRIDGE}:02:de:00:00:00:01 )`, 'HOSTNAME=shdemo.subhost', ''].join('\n'),
  );
}

async function cleanUp(): Promise<void> {
  cli(['stop', NAME], { root: ROOT });
  await deletePeer(PEER);
  await deleteBridge(BRIDGE);
  rmSync(ROOT, { recursive: true, force: true });
  for (const f of [`.logs/${NAME}.log`, `.logs/${NAME}.log.1`, `.locks/${NAME}`]) rmSync(join('/run/subhost', f), { force: true });
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run the demo as root: subhost manages namespaces, mounts and cgroups');
  await cleanUp();
  say(`Building a partitioned busybox disk image and a data disk in ${ROOT}/${NAME}`);
  await buildImage();
  sh(['cat', join(ROOT, NAME, 'config')]);
  say(`A bridge ${BRIDGE}, with a peer network namespace ${PEER} (10.77.0.1) on it`);
  await createBridge(BRIDGE);
  await createPeer(PEER, BRIDGE, '10.77.0.1/24');

  say('Boot it: loop devices, the root partition on live/, a network namespace, a cgroup, PID 1');
  subhost('boot', NAME, '--dry-run');
  subhost('boot', NAME);
  process.stdout.write(bold(`$ subhost enter ${NAME} -- cat /run/rc.ran`) + '   # again until rc 2 is done\n');
  let rc = '';
  await waitFor('rc 2 in the guest', () => (rc = cli(['enter', NAME, '--', 'cat', '/run/rc.ran'], { root: ROOT }).stdout.trim()) === '2', 15_000);
  process.stdout.write(`${rc}\n`);
  subhost('status', NAME);
  subhost('list');

  say('Inside: its own PID 1, host name, disks, mounts and network');
  subhost('enter', NAME, '--', 'sh', '-c', 'hostname; ps -o pid,comm; ls -l /dev/vd*; grep -E " / | /data " /proc/mounts; ip addr show eth0');
  say('Across the bridge: the peer fetches a page from the httpd that rc 2 started in the subhost');
  sh(['ip', 'netns', 'exec', PEER, 'busybox', 'wget', '-qO-', 'http://10.77.0.2/']);

  say("PID 1's console, kept in a size-bounded log");
  subhost('logs', NAME);

  say('Power it off, as its own poweroff would');
  subhost('poweroff', NAME);
  subhost('status', NAME);

  say('Nothing is left: no mount, loop device, veth, network namespace, cgroup, process or state');
  subhost('check-mounts', NAME);
}

main()
  .then(async () => {
    await cleanUp();
    process.stdout.write(`\n${bold('Demo done.')} Try it yourself: README.md shows the config and the commands.\n`);
  })
  .catch(async (err: Error) => {
    process.stderr.write(`demo: ${err.message}\n`);
    await cleanUp();
    process.exitCode = 1;
  });
