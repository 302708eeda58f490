import { spawn } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { readFileOr } from '../../src/host/read-file';
import { describe, expect, it } from 'vitest';
import { linkExists } from '../../src/host/ip';
import { netnsExists } from '../../src/host/netns';
import { subhostLinks } from '../../src/core/inspect/resources';
import { ok } from '../helpers/cli';
import { testMac, waitFor } from '../helpers/env';
import { useDiskSubhost } from '../helpers/booted';
import { leftoversOf } from '../helpers/leaks';
import { bootAndSettle } from '../helpers/subhost';

const MAC = testMac(0x3c);

/** The `release network` row of `--timings`: its duration and how many processes it spawned. */
function networkRow(stderr: string): { ms: number; spawns: number } {
  const row = stderr.split('\n').find((l) => / release network$/.test(l));
  expect(row, stderr).toBeDefined();
  const [, ms, spawns] = row!.replace(/^timings:\s+/, '').trim().split(/\s+/);
  return { ms: Number(ms), spawns: Number(spawns) };
}

describe('stop releases the network with its namespace', () => {
  const n = useDiskSubhost('n', { bridge: true, subhost: (bridge) => ({ bridges: [`${bridge}:${MAC}`] }) });

  it('lets the kernel delete the veth pair with the namespace: no ip process, nothing left', async () => {
    const name = n.sub().name;
    await bootAndSettle(n.root, name);
    const links = subhostLinks(name);
    expect(links).toHaveLength(1);
    const r = ok(['--timings', 'stop', name], { root: n.root });
    // The old release ran `ip -force -batch` (link del, netns del): one process, and the RCU wait of link del.
    expect(networkRow(r.stderr).spawns).toBe(0);
    for (const l of links) expect(linkExists(l)).toBe(false);
    expect(netnsExists(name)).toBe(false);
    expect(leftoversOf(name)).toEqual([]);
  });

  it('deletes a veth whose namespace a process outside the subhost still holds, and leaves that namespace to it', async () => {
    const name = n.sub().name;
    await bootAndSettle(n.root, name);
    const links = subhostLinks(name);
    // A host process that joined the namespace (nsenter: `ip netns exec` would also copy the mounts
    // and hold the loop): not in NAME's cgroups, so stop does not kill it.
    const holder = spawn('nsenter', [`--net=/run/netns/${name}`, '--', 'sleep', '60'], { stdio: 'ignore' });
    const ended = new Promise((resolve) => holder.once('exit', resolve));
    try {
      await waitFor('the holder to run in the namespace', () => readFileOr(`/proc/${holder.pid}/comm`)?.trim() === 'sleep', 5000);
      const held = readlinkSync(`/proc/${holder.pid}/ns/net`);
      expect(held).not.toBe(readlinkSync('/proc/self/ns/net'));
      const r = ok(['--timings', 'stop', name], { root: n.root });
      expect(r.stdout).toBe(`${name}: stopped\n`);
      for (const l of links) expect(linkExists(l)).toBe(false);
      expect(netnsExists(name)).toBe(false);
      expect(leftoversOf(name)).toEqual([]);
      // The namespace lives on for its holder only, now without the subhost's veth.
      expect(readlinkSync(`/proc/${holder.pid}/ns/net`)).toBe(held);
      expect(networkRow(r.stderr).spawns).toBe(1);
    } finally {
      holder.kill('SIGKILL');
      await ended;
    }
  });
});
