import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapOk, waitRunlevel2 } from '../helpers/bootstrap';
import { cli, ok } from '../helpers/cli';
import { makeTestRoot, PREFIX, removeTestRoot, testMac, testName, waitFor } from '../helpers/env';
import { leftoversOf } from '../helpers/leaks';
import { createBridge, createPeer, deleteBridge, deletePeer } from '../helpers/net';
import { expectRefused } from '../helpers/refused';
import { enterSh } from '../helpers/subhost';
import { run } from '../../src/host/exec';

function subhostWith(root: string, config: string): string {
  const n = testName('h');
  mkdirSync(join(root, n), { recursive: true });
  writeFileSync(join(root, n, 'config'), config);
  return n;
}

describe('subhost dhcp', () => {
  const root = makeTestRoot();
  let a: string;
  let b: string;
  beforeAll(() => {
    a = subhostWith(root, `BRIDGES=( br0:${testMac(1)} br1:${testMac(2)} )\nADDRESSES=( 10.70.0.5/24 - )\nHOSTNAME=web1.example.org\n`);
    b = subhostWith(root, `BRIDGES=( br0:${testMac(3)} )\nADDRESSES=( 10.70.0.6/24 )\n`);
  });
  afterAll(() => removeTestRoot(root));

  it('prints the reservations of every interface in each format', () => {
    expect(ok(['dhcp', '--format', 'dnsmasq'], { root }).stdout).toContain(`dhcp-host=${testMac(1)},10.70.0.5,web1  # ${a} eth0 on br0\ndhcp-host=${testMac(2)},web1  # ${a} eth1 on br1\ndhcp-host=${testMac(3)},10.70.0.6,${b}`);
    expect(ok(['dhcp'], { root }).stdout).toBe(ok(['dhcp', '--format', 'dnsmasq'], { root }).stdout);
    expect(ok(['dhcp', '--format', 'dnsmasq-hosts', b], { root }).stdout.split('\n').filter((l) => !l.startsWith('#'))).toEqual([`${testMac(3)},10.70.0.6,${b}  # ${b} eth0 on br0`, '']);
    const json = JSON.parse(ok(['dhcp', '--format', 'json'], { root }).stdout);
    expect(json).toHaveLength(3);
    expect(json[0]).toEqual({ subhost: a, interface: 'eth0', bridge: 'br0', mac: testMac(1), address: '10.70.0.5/24', ip: '10.70.0.5', hostname: 'web1.example.org' });
    expect(ok(['dhcp', '--format', 'isc'], { root }).stdout).toContain(`host ${a}-eth0 {  # on br0\n  hardware ethernet ${testMac(1)};\n  fixed-address 10.70.0.5;\n  option host-name "web1.example.org";\n}`);
  });

  it("writes ISC host blocks that dhcpd -t accepts", async () => {
    const conf = join(root, 'dhcpd.conf');
    ok(['dhcp', '--format', 'isc', '--out', conf], { root });
    const r = await run(['dhcpd', '-t', '-cf', conf], { allowFailure: true });
    expect(r.code, r.stderr).toBe(0);
    // dhcpd -t does fail on a broken file: the check can fail.
    writeFileSync(`${conf}.bad`, readFileSync(conf, 'utf8').replace('hardware ethernet', 'hardware ethernet nonsense'));
    expect((await run(['dhcpd', '-t', '-cf', `${conf}.bad`], { allowFailure: true })).code).not.toBe(0);
  });

  it('--out replaces the file atomically (a new inode, no temp file left)', () => {
    const out = join(root, 'hosts');
    writeFileSync(out, 'old\n');
    const { statSync } = require('node:fs');
    const before = statSync(out).ino;
    ok(['dhcp', '--format', 'dnsmasq-hosts', '--out', out], { root });
    expect(statSync(out).ino).not.toBe(before);
    expect(readFileSync(out, 'utf8')).toContain(`${testMac(1)},10.70.0.5,web1`);
    expect(readdirSync(root).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('--hosts-dir writes one file per subhost and removes those of subhosts that are gone', () => {
    const dir = join(root, 'hostsdir');
    mkdirSync(dir);
    writeFileSync(join(dir, 'gone1'), '# subhost dhcp: gone1\n02:00:00:00:00:09,gone1\n');
    writeFileSync(join(dir, 'operator'), '02:00:00:00:00:0a,theirs\n');
    expect(ok(['dhcp', '--hosts-dir', dir], { root }).stdout).toBe(`${dir}: 2 written, 1 removed, 0 unchanged\n`);
    expect(readdirSync(dir).sort()).toEqual([a, b, 'operator'].sort());
    expect(readFileSync(join(dir, b), 'utf8')).toBe(`# subhost dhcp: ${b}\n${testMac(3)},10.70.0.6,${b}\n`);
    expect(ok(['dhcp', '--hosts-dir', dir], { root }).stdout).toBe(`${dir}: 0 written, 0 removed, 2 unchanged\n`);
  });

  it('refuses a duplicate address, MAC or host name among all subhosts before writing anything', () => {
    const out = join(root, 'dup-out');
    const c = subhostWith(root, `BRIDGES=( br0:${testMac(4)} )\nADDRESSES=( 10.70.0.6/16 )\n`);
    expectRefused(root, ['dhcp', '--out', out, a], 1, new RegExp(`address 10.70.0.6 of ${b} eth0 is also in ADDRESSES of ${c} eth0|address 10.70.0.6 of ${c} eth0 is also in ADDRESSES of ${b} eth0`));
    expect(existsSync(out)).toBe(false);
    writeFileSync(join(root, c, 'config'), `BRIDGES=( br0:${testMac(1)} )\n`);
    expectRefused(root, ['dhcp'], 1, new RegExp(`MAC ${testMac(1)} of .* is also the MAC of`));
    writeFileSync(join(root, c, 'config'), `BRIDGES=( br0:${testMac(4)} )\nHOSTNAME=${b}\n`);
    expectRefused(root, ['dhcp'], 1, new RegExp(`host name ${b} of`));
    removeTestRoot(join(root, c));
  });

  it.each([
    ['ADDRESSES=( 10.70.0.300/24 )', /ADDRESSES\[0\] \("10.70.0.300\/24"\): 10.70.0.300 is not an IPv4 address/],
    ['ADDRESSES=( 10.70.0.7/24 10.70.0.8/24 )', /ADDRESSES \("10.70.0.7\/24 10.70.0.8\/24"\): has 2 elements but BRIDGES has 1/],
    ['ADDRESSES=( 10.70.0.0/24 )', /ADDRESSES\[0\] \("10.70.0.0\/24"\): 10.70.0.0 is the network address/],
  ])('refuses %s by dhcp and by boot, in one line naming ADDRESSES and the element', (line, message) => {
    const c = subhostWith(root, `BRIDGES=( br0:${testMac(5)} )\n${line}\n`);
    expectRefused(root, ['dhcp'], 1, new RegExp(`^subhost: ${c}: ${message.source}`));
    expectRefused(root, ['boot', c], 1, message);
    removeTestRoot(join(root, c));
  });

  it('refuses --hosts-dir with another format and with --out (exit 2)', () => {
    expectRefused(root, ['dhcp', '--hosts-dir', join(root, 'x'), '--format', 'isc'], 2, /--hosts-dir writes dnsmasq-hosts files, not isc/);
    expectRefused(root, ['dhcp', '--format', 'bind'], 2, /--format bind: expected dnsmasq, dnsmasq-hosts, isc, json/);
  });
});

describe('subhost dhcp with a real dnsmasq', () => {
  const root = makeTestRoot();
  const bridge = `${PREFIX}dhb${process.pid % 10000}`;
  const server = `${PREFIX}dhs${process.pid % 10000}`;
  const hosts = join(root, 'dhcp-hosts');
  let dnsmasq: ChildProcess | undefined;
  let log = '';
  let n: string;
  beforeAll(async () => {
    await createBridge(bridge);
    await createPeer(server, bridge, '10.71.0.1/24');
  });
  afterAll(async () => {
    if (n) cli(['stop', n], { root });
    dnsmasq?.kill('SIGKILL');
    if (dnsmasq && dnsmasq.exitCode === null) await new Promise((r) => dnsmasq!.on('exit', r));
    await deletePeer(server);
    await deleteBridge(bridge);
    removeTestRoot(root);
  });

  const address = () => enterSh(root, n, 'ip -o -4 addr show dev eth0').stdout;

  it("gives the guest's udhcpc exactly its reserved address, and after ADDRESSES changes, dhcp --out and a SIGHUP, the new one", async () => {
    n = testName('q');
    bootstrapOk(root, [n, '--from', 'busybox', '--dir', '--bridge', bridge]);
    writeFileSync(join(root, n, 'config'), readFileSync(join(root, n, 'config'), 'utf8').replace('#ADDRESSES=( 10.0.0.5/24 )', 'ADDRESSES=( 10.71.0.7/24 )'));
    ok(['dhcp', '--format', 'dnsmasq-hosts', '--out', hosts], { root });
    // Only reserved hosts get an address ('static' range): an address from a pool would prove nothing.
    dnsmasq = spawn('ip', ['netns', 'exec', server, 'dnsmasq', '--keep-in-foreground', '--conf-file=/dev/null', '--port=0', '--user=root', '--interface=eth0', '--bind-interfaces', '--dhcp-range=10.71.0.0,static,255.255.255.0,2m', `--dhcp-hostsfile=${hosts}`, '--leasefile-ro', '--log-dhcp', '--log-facility=-'], { stdio: ['ignore', 'pipe', 'pipe'] });
    dnsmasq.stderr!.on('data', (d) => (log += d));
    dnsmasq.stdout!.on('data', (d) => (log += d));
    await waitFor('dnsmasq to listen', () => log.includes('DHCP, static leases only'), 10_000);
    ok(['boot', n], { root });
    await waitRunlevel2(root, n);
    await waitFor('the reserved address', () => address().includes('inet 10.71.0.7/24'), 30_000);
    await waitFor(`dnsmasq to log its ACK (log: ${log})`, () => /DHCPACK\(eth0\) 10\.71\.0\.7 /.test(log), 10_000);

    writeFileSync(join(root, n, 'config'), readFileSync(join(root, n, 'config'), 'utf8').replace('ADDRESSES=( 10.71.0.7/24 )', 'ADDRESSES=( 10.71.0.8/24 )'));
    ok(['dhcp', '--format', 'dnsmasq-hosts', '--out', hosts], { root });
    expect(log.split(`read ${hosts}`).length - 1).toBe(1);
    dnsmasq.kill('SIGHUP');
    const reads = () => log.split(`read ${hosts}`).length - 1;
    await waitFor('dnsmasq to reread its hosts file', () => reads() === 2, 10_000);
    // udhcpc renews (SIGUSR1); dnsmasq refuses the old address now, and the guest asks again.
    enterSh(root, n, 'kill -USR1 "$(cat /run/udhcpc.eth0.pid)"');
    await waitFor('the new reserved address', () => address().includes('inet 10.71.0.8/24'), 60_000);
    expect(address()).not.toContain('10.71.0.7');
    ok(['poweroff', n], { root });
    expect(leftoversOf(n)).toEqual([]);
  });

  it('boot refuses an address that an active subhost has, in one line', async () => {
    const [x, y] = [testName('u'), testName('u')];
    for (const s of [x, y]) bootstrapOk(root, [s, '--from', 'busybox', '--dir', '--bridge', bridge, '--address', '10.71.0.20/24']);
    try {
      ok(['boot', x], { root });
      // Settled, so that its rc 2 starts no process while the refusal is checked to change nothing.
      await waitRunlevel2(root, x);
      expectRefused(root, ['boot', y], 1, new RegExp(`^subhost: ADDRESSES\\[0\\] \\("10.71.0.20/24"\\): address 10.71.0.20 is already used by subhost ${x}$`, 'm'));
    } finally {
      cli(['stop', x], { root });
    }
    expect(leftoversOf(x, y)).toEqual([]);
  });
});
