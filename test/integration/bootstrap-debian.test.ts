import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapKilledWhen, bootstrapOk, exists, hasProcess, processesOf, stagingDirs } from '../helpers/bootstrap';
import { cli, ok } from '../helpers/cli';
import { makeTestRoot, PREFIX, removeTestRoot, testName, waitFor } from '../helpers/env';
import { findTestLeftovers, leftoversOf } from '../helpers/leaks';
import { createBridge, createPeer, deleteBridge, deletePeer } from '../helpers/net';
import { enterSh, statusOf } from '../helpers/subhost';
import { ipBatch, ipBatchForce } from '../../src/host/ip';

// debootstrap against the host's own apt mirror; the .debs are cached in /var/cache/subhost, so
// only the first run on a machine downloads them (the bootstrap killed below runs offline).
const SLOW = 20 * 60_000;

describe('subhost bootstrap --from debian', () => {
  const root = makeTestRoot();
  const bridge = `${PREFIX}dbb${process.pid % 10000}`;
  const peer = `${PREFIX}dbp${process.pid % 10000}`;
  const offline = `${PREFIX}dbo${process.pid % 10000}`;
  const n = testName('deb');
  const killRoot = makeTestRoot();
  beforeAll(async () => {
    await createBridge(bridge);
    await createPeer(peer, bridge, '10.72.0.1/24');
    await ipBatch([`netns add ${offline}`]);
  });
  afterAll(async () => {
    cli(['stop', n], { root });
    await deletePeer(peer);
    await deleteBridge(bridge);
    await ipBatchForce([`netns del ${offline}`]);
    removeTestRoot(root);
    removeTestRoot(killRoot);
  });

  it(
    'bootstraps bookworm that boots with its own sysvinit, runs its rc 2 services, and powers off from inside',
    async () => {
      const r = bootstrapOk(root, [n, '--from', 'debian:bookworm', '--disk', '1G', '--bridge', bridge, '--address', '10.72.0.5/24,10.72.0.1', '--packages', 'cron', '--progress', 'json'], SLOW);
      const phases = new Set(r.stdout.trim().split('\n').map((l) => JSON.parse(l).phase));
      expect([...phases]).toEqual(expect.arrayContaining(['prepare', 'download', 'install', 'configure', 'image', 'done']));
      expect(r.stdout).toMatch(/"phase":"install","step":"[^"]+","done":\d+,"total":\d+/);
      ok(['boot', n], { root });
      // cron is started by the guest's /etc/init.d/rc 2, and ifupdown (rcS) gives eth0 its address.
      await waitFor('cron to run', () => enterSh(root, n, 'pidof cron').code === 0, 180_000, 500);
      expect(enterSh(root, n, 'ip -o -4 addr show dev eth0').stdout).toContain('inet 10.72.0.5/24');
      expect(enterSh(root, n, 'ping -c 1 -W 5 10.72.0.1 >/dev/null 2>&1 || cat /proc/net/arp').code).toBe(0);
      expect(enterSh(root, n, 'hostname; passwd -S root | cut -d" " -f2; cat /etc/debian_version; ls /etc/rcS.d | grep -c "^S..hwclock"; grep -c "^[^#].*getty" /etc/inittab').stdout).toMatch(new RegExp(`^${n}\\nL\\n12\\.\\d+\\n0\\n0\\n$`));
      expect(readFileSync(join(root, n, 'config'), 'utf8')).toContain('from debian:bookworm');
      const pid1 = statusOf(root, n).pid1;
      // sysvinit's own poweroff, run in the guest (its PID 1 is subhost-init), writes to /run/initctl.
      expect(enterSh(root, n, 'grep -q subhost-init /proc/1/cmdline && /sbin/poweroff').code).toBe(0);
      await waitFor('the guest to power itself off', () => statusOf(root, n).state === 'stopped', 120_000, 500);
      expect(pid1).toBeGreaterThan(0);
      expect(leftoversOf(n)).toEqual([]);
    },
    SLOW,
  );

  it(
    'from the cache downloads nothing (it runs with no network at all), and killed while dpkg installs leaves no process, mount or folder',
    async () => {
      const k = testName('dek');
      // A root of its own: only the killed bootstrap's processes can be working on it.
      const root = killRoot;
      await bootstrapKilledWhen(root, [k, '--from', 'debian', '--packages', 'cron', '--dir'], 'dpkg to install packages', hasProcess(root, 'dpkg'), { timeoutMs: SLOW, via: ['ip', 'netns', 'exec', offline] });
      // Only what this root holds: other test files' objects (the Ganeti cluster) live for the whole run.
      expect(findTestLeftovers().filter((l) => l.kind === 'mount' && l.id.startsWith(root))).toEqual([]);
      expect(processesOf(root)).toEqual([]);
      expect(exists(root, k)).toBe(false);
      expect(stagingDirs(root)).toHaveLength(1);
      // The next bootstrap (any) removes the staging folder of the killed one.
      bootstrapOk(root, [testName('x'), '--from', 'busybox', '--dir']);
      expect(stagingDirs(root)).toEqual([]);
    },
    SLOW,
  );
});
