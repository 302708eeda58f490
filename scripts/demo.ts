/**
 * `npm run demo`: with no configuration at all, build a busybox disk image, a bridge and a peer
 * network namespace, boot a subhost from the image, show it working, power it off, and show
 * that nothing is left. Everything it makes is named shdemo* and removed at the end.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildBusyboxRoot, DEFAULT_GUEST_FILES } from '../src/core/image/busybox-root';
import { makeDiskImage } from '../src/core/image/disk-image';
import { listLoops } from '../src/host/loop';
import { listNetns } from '../src/host/netns';
import { readMountinfo } from '../src/host/mountinfo';
import { findCgroup2Mount } from '../src/host/cgroupfs';
import { quoteArg } from '../src/errors';


const ROOT = '/var/tmp/subhost-demo';
const NAME = 'demo';
const BRIDGE = 'shdemo-br0';
const PEER = 'shdemo-peer';
const BIN = join(__dirname, '../bin/subhost');
const env = { ...process.env, SUBHOST_ROOT: ROOT };

const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);

function say(text: string): void {
  process.stdout.write(`\n${bold(`# ${text}`)}\n`);
}

/** Show a command the way an operator would type it, run it, and fail the demo if it fails. */
function sh(argv: string[], opts: { show?: string; allowFail?: boolean } = {}): number {
  process.stdout.write(bold(`$ ${opts.show ?? argv.join(' ')}`) + '\n');
  const r = spawnSync(argv[0], argv.slice(1), { stdio: 'inherit', env });
  if (r.status !== 0 && !opts.allowFail) throw new Error(`${opts.show ?? argv.join(' ')} exited with ${r.status}`);
  return r.status ?? 1;
}

function subhost(...args: string[]): number {
  return sh([process.execPath, BIN, ...args], { show: `subhost ${args.map(quoteArg).join(' ')}` });
}

function quiet(argv: string[]): void {
  spawnSync(argv[0], argv.slice(1), { stdio: 'ignore', env });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function buildImage(): Promise<void> {
  mkdirSync(join(ROOT, NAME), { recursive: true });
  const tree = mkdtempSync('/tmp/subhost-demo-root-');
  try {
    await buildBusyboxRoot(tree, {
      ...DEFAULT_GUEST_FILES,
      'etc/fstab': { content: '/dev/vdb1 /data ext4 defaults 0 0\n' },
      'etc/network.sh': { mode: 0o755, content: '#!/bin/sh\nip addr add 10.77.0.2/24 dev eth0\nip link set eth0 up\n' },
      'etc/rc2.d/S50httpd': { mode: 0o755, content: '#!/bin/sh\necho "httpd: serving /www on port 80"\nhttpd -p 80 -h /www\n' },
      'www/index.html': { content: 'Hello from inside the demo subhost!\n' },
    });
    await makeDiskImage(join(ROOT, NAME, 'disk1.raw'), { sizeMiB: 64, from: tree });
    await makeDiskImage(join(ROOT, NAME, 'data.raw'), { sizeMiB: 32 });
  } finally {
    rmSync(tree, { recursive: true, force: true });
  }
  writeFileSync(
    join(ROOT, NAME, 'config'),
    ['# subhost demo: a partitioned busybox image as root, a data disk, one NIC on a bridge', `DISKS=( vda:1:${ROOT}/${NAME}/disk1.raw vdb:1:data.raw )`, `BRIDGES=( ${BRIDGE}:02:de:00:00:00:01 )`, 'HOSTNAME=demo.subhost', ''].join('\n'),
  );
}

function setUpNetwork(): void {
  const batch = [`link add ${BRIDGE} type bridge`, `link set ${BRIDGE} up`, `netns add ${PEER}`, `link add ${PEER}h type veth peer name eth0 netns ${PEER}`, `link set ${PEER}h master ${BRIDGE} up`].join('\n');
  const r = spawnSync('ip', ['-batch', '-'], { input: batch + '\n', stdio: ['pipe', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error('could not create the demo bridge and peer');
  spawnSync('ip', ['-n', PEER, '-batch', '-'], { input: 'addr add 10.77.0.1/24 dev eth0\nlink set eth0 up\nlink set lo up\n' });
}

function cleanUp(): void {
  quiet([process.execPath, BIN, 'stop', NAME]);
  quiet(['ip', 'link', 'del', `${PEER}h`]);
  quiet(['ip', 'netns', 'del', PEER]);
  quiet(['ip', 'link', 'del', BRIDGE]);
  rmSync(ROOT, { recursive: true, force: true });
  for (const f of [`.logs/${NAME}.log`, `.logs/${NAME}.log.1`, `.locks/${NAME}`]) rmSync(join('/run/subhost', f), { force: true });
}

function leftovers(): string[] {
  const left: string[] = [];
  for (const m of readMountinfo()) if (m.mountPoint.startsWith(ROOT)) left.push(`mount ${m.mountPoint}`);
  for (const l of listLoops()) if (l.backingFile.startsWith(ROOT)) left.push(`loop ${l.dev}`);
  if (listNetns().includes(NAME)) left.push(`netns ${NAME}`);
  if (existsSync(`/sys/class/net/${NAME}0`)) left.push(`veth ${NAME}0`);
  if (existsSync(join(findCgroup2Mount(), 'subhost', NAME))) left.push(`cgroup subhost/${NAME}`);
  if (existsSync(`/run/subhost/${NAME}`)) left.push(`state /run/subhost/${NAME}`);
  return left;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run the demo as root: subhost manages namespaces, mounts and cgroups');
  cleanUp();
  say(`Building a partitioned busybox disk image and a data disk in ${ROOT}/${NAME}`);
  await buildImage();
  sh(['cat', join(ROOT, NAME, 'config')]);
  say(`A bridge ${BRIDGE}, with a peer network namespace ${PEER} (10.77.0.1) on it`);
  setUpNetwork();

  say('Boot it: loop devices, the root partition on live/, a network namespace, a cgroup, PID 1');
  subhost('boot', NAME, '--dry-run');
  subhost('boot', NAME);
  await sleep(500);
  subhost('status', NAME);
  subhost('list');

  say('Inside: its own PID 1, host name, disks, mounts and network');
  subhost('enter', NAME, '--', 'sh', '-c', 'hostname; ps -o pid,comm; ls -l /dev/vd*; grep -E " / | /data " /proc/mounts; ip addr show eth0');
  say('Across the bridge: the peer fetches a page from the httpd that rc 2 started in the subhost');
  sh(['ip', 'netns', 'exec', PEER, 'busybox', 'wget', '-qO-', 'http://10.77.0.2/'], { show: `ip netns exec ${PEER} busybox wget -qO- http://10.77.0.2/` });

  say("PID 1's console, kept in a size-bounded log");
  subhost('logs', NAME);

  say('Power it off, as its own poweroff would');
  subhost('poweroff', NAME);
  subhost('status', NAME);

  say('Nothing is left: no mount, loop device, veth, network namespace, cgroup or state');
  const left = leftovers();
  if (left.length) throw new Error(`left behind: ${left.join(', ')}`);
  sh(['sh', '-c', `losetup -a | grep -c ${ROOT} || true; ip netns list | grep -cx ${NAME} || true; ip link show ${NAME}0 2>&1 | head -1`], { show: `losetup -a | grep -c ${ROOT}; ip netns list | grep -cx ${NAME}; ip link show ${NAME}0` });
  process.stdout.write('nothing left\n');
}

main()
  .then(() => {
    cleanUp();
    process.stdout.write(`\n${bold('Demo done.')} Try it yourself: README.md shows the config and the commands.\n`);
  })
  .catch((err: Error) => {
    process.stderr.write(`demo: ${err.message}\n`);
    cleanUp();
    process.exitCode = 1;
  });
