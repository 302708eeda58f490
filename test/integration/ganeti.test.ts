import { closeSync, existsSync, fsyncSync, openSync, readdirSync, readSync, realpathSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { listLoops } from '../../src/host/loop';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, type CliResult } from '../helpers/cli';
import { makeTestRoot, PREFIX, removeTestRoot, testMac, testName, waitFor } from '../helpers/env';
import { addInstance, clusterUp, disksActive, gnt, GNT_RUN, MASTER, onNode, OS, okOnNode, removeInstance, SSH_CONFIG } from '../helpers/ganeti';
import { findTestLeftovers, leftoversOf } from '../helpers/leaks';
import { createBridge, deleteBridge } from '../helpers/net';
import { statusOf } from '../helpers/subhost';

/** A refusal: exit 1, one line `subhost: …`, nothing on stdout, no disk left active, nothing else changed. */
async function expectRefusal(run: () => CliResult, instance: string, message: RegExp): Promise<void> {
  // The cluster's own daemons fork and reap workers (ganeti-noded) at any time: not ours to compare.
  const ours = () => findTestLeftovers().filter((l) => !(l.kind === 'process' && l.subhost === 'ganeti'));
  const before = ours();
  const r = run();
  expect(r.code, r.stderr).toBe(1);
  expect(r.stderr.split('\n')).toHaveLength(2);
  expect(r.stderr).toMatch(/^subhost: /);
  expect(r.stderr).toMatch(message);
  expect(r.stdout).toBe('');
  expect(await disksActive(instance)).toBe(false);
  expect(ours()).toEqual(before);
}

describe('Ganeti: an instance with a partitioned busybox disk (file template) and a NIC', () => {
  let root: string;
  const sub = testName('g');
  const inst = `${sub}.gnt.test`;
  const mac = testMac(0x71);
  const sh = (script: string) => okOnNode(['enter', sub, '--', 'sh', '-c', script], { root }).stdout;
  let defaults: string;

  beforeAll(async () => {
    root = makeTestRoot();
    await clusterUp();
    await addInstance(inst, { mac });
    defaults = join(root, 'default-subhost');
  }, 300_000);

  afterAll(async () => {
    onNode(['gnt-stop', inst], { root });
    await removeInstance(inst);
    removeTestRoot(root);
  }, 300_000);

  it('refuses an instance Ganeti does not know, in one line', () => {
    const r = onNode(['gnt-start', `${PREFIX}nosuch`], { root });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`subhost: gnt-start ${PREFIX}nosuch: Instance name ${PREFIX}nosuch not found\n`);
  });

  it('refuses on a host that is not its primary node, activating nothing', async () => {
    await expectRefusal(() => cli(['gnt-start', inst], { root }), inst, /this host \(\S+\) is not its primary node node1\.gnt\.test/);
  });

  it("refuses an instance that is up under Ganeti's own hypervisor", async () => {
    await gnt(['gnt-instance', 'startup', inst]);
    try {
      const r = onNode(['gnt-start', sub], { root });
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/^subhost: gnt-start \S+: instance \S+: it is up under Ganeti's fake hypervisor \(running\): `gnt-instance shutdown \S+` first\n$/);
      expect(leftoversOf(sub)).toEqual([]);
      // gnt-stop leaves the disks of an instance Ganeti runs to Ganeti, and says so.
      expect(okOnNode(['gnt-stop', inst], { root }).stdout).toBe(`${sub}: already stopped; disks of ${inst} left active (Ganeti runs it)\n`);
      expect(await disksActive(inst)).toBe(true);
    } finally {
      await gnt(['gnt-instance', 'shutdown', '--timeout=0', inst]);
    }
    expect(await disksActive(inst)).toBe(false);
  });

  it('refuses when a disk cannot be activated, and leaves none activated', async () => {
    const dir = join(GNT_RUN, 'file-storage', inst);
    const disk = join(dir, readdirSync(dir).find((f) => f.endsWith('.disk0'))!);
    renameSync(disk, `${disk}.away`);
    try {
      await expectRefusal(() => onNode(['gnt-start', inst], { root }), inst, /cannot activate its disks: /);
    } finally {
      renameSync(`${disk}.away`, disk);
    }
  });

  it('--dry-run prints the mapping and changes nothing', async () => {
    const r = okOnNode(['gnt-start', inst, '--dry-run'], { root });
    expect(r.stdout).toContain(`instance ${inst} on node1.gnt.test -> subhost ${sub} (host name ${inst}, /dev/net/tun)`);
    expect(r.stdout).toMatch(/disk\/0 .* -> \/dev\/vda1 \(root\)/);
    expect(r.stdout).toContain(`nic/0 ${mac} -> eth0 on bridge ${PREFIX}gbr0`);
    expect(await disksActive(inst)).toBe(false);
    expect(existsSync(join(root, sub))).toBe(false);
  });

  it('boots it as a subhost: host name, MAC, /dev/vda1 as root, /dev/net/tun, rc 2 ran; list and status name the instance', async () => {
    const r = okOnNode(['gnt-start', inst], { root });
    expect(r.stdout).toMatch(new RegExp(`${sub}: booted, PID 1 is \\d+`));
    expect(await disksActive(inst)).toBe(true);
    expect(sh('hostname').trim()).toBe(inst);
    expect(sh('cat /sys/class/net/eth0/address').trim()).toBe(mac);
    expect(sh('test -b /dev/vda1 && test -c /dev/net/tun && echo yes').trim()).toBe('yes');
    expect(sh('grep " / " /proc/mounts | cut -d" " -f3').trim()).toBe('ext4');
    await waitFor('rc 2', () => sh('cat /run/rc.ran 2>/dev/null').trim() === '2');
    const s = statusOf(root, sub);
    expect(s.ganeti).toMatchObject({ instance: inst, pnode: 'node1.gnt.test', subhost: sub });
    expect(okOnNode(['status', sub], { root }).stdout).toMatch(new RegExp(`ganeti +instance ${inst.replace(/\./g, '\\.')} on node1\\.gnt\\.test`));
    const list = okOnNode(['list'], { root }).stdout.split('\n');
    expect(list[0]).toMatch(/ GANETI$/);
    expect(list.find((l) => l.startsWith(`${sub} `))).toMatch(new RegExp(`running .* ${inst.replace(/\./g, '\\.')}@node1\\.gnt\\.test$`));
  });

  it('refuses a second gnt-start of a running instance without touching its disks', async () => {
    const r = onNode(['gnt-start', inst], { root });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^subhost: gnt-start ${inst}: instance ${inst}: subhost ${sub} is already running\\n$`));
    expect(await disksActive(inst)).toBe(true);
  });

  it("go runs a command in it on this node, without ssh (master from gnt-cluster getmaster); the status is the command's", () => {
    const r = onNode(['go', sub, '--', 'sh', '-c', 'hostname; exit 7'], { root, env: { SUBHOST_DEFAULTS: join(root, 'none') } });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe(inst);
    expect(r.code).toBe(7);
  });

  it("go from another host: asks GANETI_MASTER over ssh, then enters it on the node over ssh; the status is the command's", () => {
    writeFileSync(defaults, `# test\nGANETI_MASTER=${MASTER}\nGANETI_SSH_CONFIG="${SSH_CONFIG}"\n`);
    const r = cli(['go', inst, '--', 'sh', '-c', 'cat /sys/class/net/eth0/address; exit 3'], { root, env: { SUBHOST_DEFAULTS: defaults } });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe(mac);
    expect(r.code).toBe(3);
  });

  it('go: an unknown name, an unreachable master, an unreachable node: one line each', () => {
    const one = (r: CliResult, m: RegExp) => {
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`^subhost: go \\S+: ${m.source}.*\\n$`));
      expect(r.stdout).toBe('');
    };
    writeFileSync(defaults, `GANETI_MASTER=${MASTER}\nGANETI_SSH_CONFIG=${SSH_CONFIG}\n`);
    one(cli(['go', `${PREFIX}nosuch`, '--', 'true'], { root, env: { SUBHOST_DEFAULTS: defaults } }), /Instance name \S+ not found \(asked cluster\.gnt\.test\)/);
    writeFileSync(defaults, `GANETI_MASTER=unreachable.gnt.test\nGANETI_SSH_CONFIG=${SSH_CONFIG}\n`);
    one(cli(['go', inst, '--', 'true'], { root, env: { SUBHOST_DEFAULTS: defaults } }), /cannot reach master unreachable\.gnt\.test over ssh: /);
    // The node answers on a port where nothing listens; the master as before.
    const cfg = join(root, 'ssh-config');
    writeFileSync(cfg, `Include ${SSH_CONFIG}\nHost node1.gnt.test\n  Port 2299\n`);
    writeFileSync(defaults, `GANETI_MASTER=${MASTER}\nGANETI_SSH_CONFIG=${cfg}\n`);
    one(cli(['go', inst, '--', 'true'], { root, env: { SUBHOST_DEFAULTS: defaults } }), /cannot reach node node1\.gnt\.test \(running \S+\) over ssh: /);
  });

  it('gnt-stop powers it off and deactivates its disks, leaving nothing; again, it only says so', async () => {
    expect(okOnNode(['gnt-stop', inst], { root }).stdout).toBe(`${sub}: powered off; disks of ${inst} deactivated\n`);
    expect(await disksActive(inst)).toBe(false);
    expect(leftoversOf(sub)).toEqual([]);
    expect(okOnNode(['gnt-stop', inst], { root }).stdout).toBe(`${sub}: already stopped; disks of ${inst} deactivated\n`);
    expect(okOnNode(['check-mounts', sub], { root }).code).toBe(0);
  });
});

describe('Ganeti: an instance with the blockdev template (an adopted loop device)', () => {
  let root: string;
  const sub = testName('h');
  const inst = `${sub}.gnt.test`;
  const mac = testMac(0x72);
  const bridge = `${PREFIX}gbrx`;

  beforeAll(async () => {
    root = makeTestRoot();
    await clusterUp();
    await createBridge(bridge);
    await addInstance(inst, { mac, template: 'blockdev', link: bridge });
  }, 300_000);

  afterAll(async () => {
    onNode(['gnt-stop', inst], { root });
    await removeInstance(inst);
    await deleteBridge(bridge).catch(() => undefined);
    removeTestRoot(root);
  }, 300_000);

  it("refuses when a NIC's bridge is missing on this host, activating nothing", async () => {
    await deleteBridge(bridge);
    try {
      await expectRefusal(() => onNode(['gnt-start', inst], { root }), inst, new RegExp(`nic/0: bridge ${bridge} does not exist on this host`));
    } finally {
      await createBridge(bridge);
    }
  });

  it('deactivates the disks again when the boot fails after activating them (no partition table)', async () => {
    // Through the adopted device itself, so that its cache and what boot reads agree.
    const mbr = Buffer.alloc(512);
    const fd = openSync(realpathSync(join('/dev/disk', OS, inst)), 'r+');
    try {
      readSync(fd, mbr, 0, 512, 0);
      writeSync(fd, Buffer.alloc(512), 0, 512, 0);
      fsyncSync(fd);
      await expectRefusal(() => onNode(['gnt-start', inst], { root }), inst, /partition 1 does not exist in \/dev\/loop\d+ \(it has no partition table\)/);
    } finally {
      writeSync(fd, mbr, 0, 512, 0);
      fsyncSync(fd);
      closeSync(fd);
    }
  });

  it('boots it from the adopted device (disk 0 partition 1 as /dev/vda1) and gnt-stop releases it', async () => {
    okOnNode(['gnt-start', inst], { root });
    const out = okOnNode(['enter', sub, '--', 'sh', '-c', 'hostname; cat /sys/class/net/eth0/address; test -b /dev/vda1 && echo vda1'], { root }).stdout;
    expect(out.split('\n')).toEqual([inst, mac, 'vda1', '']);
    const device = realpathSync(join('/dev/disk', OS, inst));
    expect(statusOf(root, sub).disks[0]).toMatchObject({ node: 'vda1', image: device });
    okOnNode(['gnt-stop', inst], { root });
    expect(await disksActive(inst)).toBe(false);
    expect(leftoversOf(sub)).toEqual([]);
    // The config names the device through Ganeti's symlink; the loops on it name the device itself.
    expect(listLoops().filter((l) => l.backingFile === device)).toEqual([]);
  });
});
