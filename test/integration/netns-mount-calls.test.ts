import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isOurNetns } from '../../src/core/inspect/resources';
import { netnsAdd, netnsBatch } from '../../src/core/steps/network';
import { netnsAddressCalls, netnsCalls } from '../../src/host/bpf-addon';
import { observeSpawns, run, type SpawnKind } from '../../src/host/exec';
import { ipBatch, listAddrs, listAddrsIn, waitLinksGone, type AddrInfo } from '../../src/host/ip';
import { mount } from '../../src/host/mount';
import { mountsUnder, readMountinfo } from '../../src/host/mountinfo';
import { dropNetns, netnsBound, netnsPath } from '../../src/host/netns';
import { makeTestRoot, removeTestRoot, testName } from '../helpers/env';
import { cli } from '../helpers/cli';
import { createDiskSubhost } from '../helpers/fixtures';

/** How the last external work was done: by a process or by the addon's system call. */
const seen: { argv: readonly string[]; kind: SpawnKind }[] = [];
observeSpawns((argv, _ms, kind) => seen.push({ argv, kind }));

// mount(8) as the addon's mount(2) (mount.c), as boot's mount-root and layout steps use it.
describe('the addon\'s mount(2)', () => {
  const root = makeTestRoot();
  afterAll(() => removeTestRoot(root));
  const mountAt = (dir: string) => mountsUnder(readMountinfo(), dir).find((m) => m.mountPoint === dir);

  it('mounts with the flags and data mount(8) would pass, without a process', async () => {
    const dir = join(root, 'tmp');
    mkdirSync(dir);
    seen.length = 0;
    await mount('tmpfs', dir, { type: 'tmpfs', options: ['nosuid', 'nodev', 'noexec', 'size=1m', 'mode=700'] });
    try {
      expect(seen).toEqual([{ argv: ['mount', '-t', 'tmpfs', '-o', 'nosuid,nodev,noexec,size=1m,mode=700', 'tmpfs', dir], kind: 'call' }]);
      const m = mountAt(dir)!;
      expect(m.fsType).toBe('tmpfs');
      expect(m.options).toEqual(expect.arrayContaining(['rw', 'nosuid', 'nodev', 'noexec']));
      expect(m.superOptions).toEqual(expect.arrayContaining(['size=1024k', 'mode=700']));
    } finally {
      await run(['umount', dir]);
    }
  });

  it('binds without a process, and leaves a bind with options to mount(8) (a bind, then a remount)', async () => {
    const src = join(root, 'src');
    const dst = join(root, 'dst');
    mkdirSync(src);
    mkdirSync(dst);
    writeFileSync(join(src, 'mark'), 'x');
    seen.length = 0;
    await mount(src, dst, { bind: true });
    try {
      expect(seen.map((s) => s.kind)).toEqual(['call']);
      expect(existsSync(join(dst, 'mark'))).toBe(true);
    } finally {
      await run(['umount', dst]);
    }
    seen.length = 0;
    await mount(src, dst, { bind: true, options: ['ro'] });
    try {
      expect(seen.map((s) => s.kind)).toEqual(['process']);
      expect(mountAt(dst)!.options).toContain('ro');
    } finally {
      await run(['umount', dst]);
    }
  });

  it('leaves a regular file as the source to mount(8), which attaches a loop for it', async () => {
    const image = join(root, 'fs.ext4');
    const dir = join(root, 'fs');
    mkdirSync(dir);
    writeFileSync(image, Buffer.alloc(8 << 20));
    await run(['mkfs.ext4', '-q', image]);
    seen.length = 0;
    await mount(image, dir, { type: 'ext4', options: ['nosuid', 'nodev'] });
    try {
      expect(seen.map((s) => s.kind)).toEqual(['process']);
      expect(mountAt(dir)!.source).toMatch(/^\/dev\/loop\d+$/);
    } finally {
      // mount(8)'s loop has autoclear: it goes with the mount.
      await run(['umount', dir]);
    }
  });

  it('fails in the words of mount(8): the command, the reason and where to look', async () => {
    const image = join(root, 'empty.raw');
    const dir = join(root, 'bad');
    mkdirSync(dir);
    writeFileSync(image, Buffer.alloc(1 << 20));
    const dev = (await run(['losetup', '--find', '--show', image])).stdout.trim();
    try {
      const err = await mount(dev, dir, { type: 'ext4', options: ['nosuid'] }).then(
        () => undefined,
        (e: Error & { argv?: string[]; details?: string[] }) => e,
      );
      expect(err?.message).toBe(`mount: ${dev} on ${dir}: Invalid argument (wrong filesystem type, bad option or bad superblock: see dmesg)`);
      expect(err?.argv).toEqual(['mount', '-t', 'ext4', '-o', 'nosuid', dev, dir]);
      expect(mountAt(dir)).toBeUndefined();
    } finally {
      await run(['losetup', '--detach', dev]);
    }
  });
});

// `ip netns add` + `netns exec NAME ip link set lo up alias` as the addon's system calls and netlink request (netns.c).
describe('the addon\'s network namespace', () => {
  const calls = netnsCalls()!;
  const made: string[] = [];
  afterAll(async () => {
    for (const ns of made) await dropNetns(ns).catch(() => undefined);
  });
  const lo = async (ns: string) => (JSON.parse((await run(['ip', '-n', ns, '-json', 'link', 'show', 'lo'])).stdout) as { ifalias?: string; flags: string[] }[])[0];
  const nsfs = (ns: string) => mountsUnder(readMountinfo(), netnsPath(ns)).map((m) => m.fsType);
  const name = (tag: string) => {
    const n = testName(tag);
    made.push(n);
    return n;
  };

  it('makes what ip makes: a namespace bound at /run/netns/NAME with lo up and marked, without a process', async () => {
    const [byAddon, byIp] = [name('na'), name('ni')];
    seen.length = 0;
    await netnsAdd.apply({ netns: byAddon, alias: `subhost:${byAddon}` }, {} as never, {} as never);
    expect(seen.map((s) => s.kind)).toEqual(['call']);
    await ipBatch(netnsBatch({ netns: byIp, alias: `subhost:${byIp}` }));
    const [a, i] = [await lo(byAddon), await lo(byIp)];
    expect(a).toEqual({ ...i, ifalias: `subhost:${byAddon}` });
    expect(a.flags).toContain('UP');
    expect(nsfs(byAddon)).toEqual(['nsfs']);
    expect(nsfs(byIp)).toEqual(['nsfs']);
    expect(await isOurNetns(byAddon)).toBe(true);
    // A veth into it, as boot's next step makes it.
    await run(['ip', 'link', 'add', `${byAddon}0`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', byAddon]);
    expect(existsSync(`/sys/class/net/${byAddon}0`)).toBe(true);
    await dropNetns(byAddon);
    await dropNetns(byIp);
    expect(await waitLinksGone([`${byAddon}0`], 2000)).toEqual([]);
  });

  it('refuses a namespace that exists, and leaves it as it was', async () => {
    const ns = name('ne');
    await calls.addNetns(netnsPath(ns), `subhost:${ns}`);
    await expect(calls.addNetns(netnsPath(ns), 'other')).rejects.toMatchObject({ code: 'EEXIST', message: `network namespace ${netnsPath(ns)}: creating: File exists` });
    expect((await lo(ns)).ifalias).toBe(`subhost:${ns}`);
    await dropNetns(ns);
    expect(existsSync(netnsPath(ns))).toBe(false);
  });

  it('counts a file bound to no namespace (a boot killed inside addNetns) as NAME\'s, and stop removes it', async () => {
    const root = makeTestRoot();
    try {
      const sub = await createDiskSubhost(root, name('nu'), { dataDisk: false });
      writeFileSync(netnsPath(sub.name), '');
      expect(netnsBound(sub.name)).toBe(false);
      expect(await isOurNetns(sub.name)).toBe(true);
      expect(cli(['boot', sub.name], { root }).stderr).toMatch(/network namespace .* already exists .*subhost stop/);
      expect(cli(['stop', sub.name], { root }).code).toBe(0);
      expect(existsSync(netnsPath(sub.name))).toBe(false);
      expect(cli(['boot', sub.name], { root }).code).toBe(0);
      expect(cli(['stop', sub.name], { root }).code).toBe(0);
    } finally {
      removeTestRoot(root);
    }
  });

  it('refuses arguments it would have to cut: an alias too long, a NUL byte, a relative path', () => {
    expect(() => calls.addNetns('/run/netns/none', 'a'.repeat(256))).toThrow(/Invalid argument/);
    expect(() => calls.addNetns('/run/netns/none', 'a\0b')).toThrow(/Invalid argument/);
    expect(() => calls.addNetns('relative', 'a')).toThrow(/Invalid argument/);
    expect(existsSync('/run/netns/none')).toBe(false);
  });
});

// `list` and `status` read each running subhost's addresses (netns-addrs.c), as `ip -n NAME addr show` gives them.
describe('the addresses inside namespaces, by the addon', () => {
  const made: string[] = [];
  afterAll(async () => {
    for (const ns of made) await dropNetns(ns).catch(() => undefined);
  });
  const fields = (links: AddrInfo[]) =>
    links.flatMap((l) => (l.addr_info ?? []).map((a) => `${l.ifname} ${a.family} ${a.local}/${a.prefixlen} ${a.scope}`)).sort();

  it('answers for every namespace in one call what ip answers for each, without a process', async () => {
    const [a, b] = [testName('aa'), testName('ab')];
    made.push(a, b);
    await ipBatch([`netns add ${a}`, `netns add ${b}`]);
    await ipBatch([`link add ${a}x netns ${a} type veth peer name eth0 netns ${b}`]);
    // No link-local address made by the kernel as a link comes up (addrgenmode none): it appears a
    // moment later, so the addon's answer and ip's, asked one after the other, could differ by it.
    const inA = ['link set lo up', `link set ${a}x addrgenmode none`, `addr add 10.213.9.1/24 dev ${a}x`, `addr add 10.213.9.7/24 dev ${a}x`, `addr add 10.213.10.1 peer 10.213.10.2/32 dev ${a}x`, `addr add fd00:213::1/64 dev ${a}x nodad`, `link set ${a}x up`];
    await run(['ip', '-n', a, '-batch', '-'], { input: inA.join('\n') + '\n' });
    await run(['ip', '-n', b, '-batch', '-'], { input: 'link set eth0 addrgenmode none\naddr add 10.213.9.2/24 dev eth0\nlink set eth0 up\n' });
    seen.length = 0;
    const got = await listAddrsIn([a, b, testName('an')]);
    expect(seen.map((s) => s.kind)).toEqual(['call']);
    for (const ns of [a, b]) expect(fields(got.get(ns)!)).toEqual(fields(await listAddrs(ns)));
    expect(fields(got.get(a)!)).toEqual(expect.arrayContaining([`${a}x inet 10.213.9.7/24 global`, `${a}x inet 10.213.10.1/32 global`, 'lo inet 127.0.0.1/8 host']));
    expect(got.get(testName('an'))).toBeUndefined();
    expect(await listAddrsIn([])).toEqual(new Map());
  });

  it('refuses what is not a list of absolute paths', () => {
    const calls = netnsAddressCalls()!;
    expect(() => calls.netnsAddresses('/run/netns/x' as never)).toThrow(/Invalid argument/);
    expect(() => calls.netnsAddresses(['relative'])).toThrow(/Invalid argument/);
    expect(() => calls.netnsAddresses(['/run/netns/a\0b'])).toThrow(/Invalid argument/);
  });
});

// A host without the addon's calls (not built, or SUBHOST_SPAWN=node) boots and stops by the tools they replace.
describe('boot and stop by the tools (SUBHOST_SPAWN=node)', () => {
  const root = makeTestRoot();
  afterAll(() => removeTestRoot(root));

  it('probes with partx and blkid, mounts with mount(8), makes the namespace with ip, and leaves nothing', async () => {
    const sub = await createDiskSubhost(root, testName('nt'), { dataDisk: false });
    const env = { SUBHOST_SPAWN: 'node' };
    const boot = cli(['--timings', '--verbose', 'boot', sub.name], { root, env });
    expect(boot.code, boot.stderr).toBe(0);
    const spawned = boot.stderr.split('\n').filter((l) => / - /.test(l));
    expect(spawned.filter((l) => l.includes('(system call)'))).toEqual([]);
    for (const tool of ['partx --raw', 'blkid -p', 'mount -t ext4', 'ip -batch']) expect(spawned.some((l) => l.includes(` - ${tool}`)), tool).toBe(true);
    expect(await isOurNetns(sub.name)).toBe(true);
    expect(netnsBound(sub.name)).toBe(true);
    const stop = cli(['stop', sub.name], { root, env });
    expect(stop.code, stop.stderr).toBe(0);
    expect(existsSync(netnsPath(sub.name))).toBe(false);
    expect(mountsUnder(readMountinfo(), join(root, sub.name))).toEqual([]);
  });
});
