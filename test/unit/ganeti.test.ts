import { describe, expect, it } from 'vitest';
import { CommandError } from '../../src/errors';
import { gntReason, parseActivatedDisks, parseInstanceLine } from '../../src/ganeti/gnt';
import { configText, mapInstance, mappingLines, subhostNameOf } from '../../src/ganeti/mapping';
import { isThisNode, parseDefaults } from '../../src/ganeti/node';

const LINE = 'web1.example.org|node2.example.org|ADMIN_down|down|N|kvm|plain|2|N|AA:00:00:12:34:56,aa:00:00:12:34:57|br0,br1|bridged,bridged';

describe('Ganeti output', () => {
  it('reads one instance line of gnt-instance list (lists comma-joined, MACs lower case)', () => {
    expect(parseInstanceLine(LINE)).toEqual({
      name: 'web1.example.org',
      pnode: 'node2.example.org',
      status: 'ADMIN_down',
      adminUp: false,
      operUp: false,
      hypervisor: 'kvm',
      diskTemplate: 'plain',
      diskCount: 2,
      disksActive: false,
      nics: [
        { mac: 'aa:00:00:12:34:56', link: 'br0', mode: 'bridged' },
        { mac: 'aa:00:00:12:34:57', link: 'br1', mode: 'bridged' },
      ],
    });
    expect(parseInstanceLine('a|n|running|up|Y|fake|file|1|Y|||').nics).toEqual([]);
    expect(() => parseInstanceLine('a|b')).toThrow(/unexpected line/);
  });

  it("takes Ganeti's own reason from its stderr, and says when the tools are missing", () => {
    const failure = 'Failure: prerequisites not met for this operation:\nerror type: unknown_entity, error details:\nInstance name web9 not found\n';
    expect(gntReason(new CommandError(['gnt-instance', 'list', 'web9'], 1, null, failure))).toBe('Instance name web9 not found');
    expect(gntReason(new CommandError(['gnt-instance', 'activate-disks', 'w'], 1, null, 'Failure: command execution error:\nCannot activate block device: file missing\n'))).toBe('Cannot activate block device: file missing');
    expect(gntReason(new CommandError(['gnt-cluster', 'getmaster'], null, null, 'command not found'))).toBe('gnt-cluster is not installed: this host is no Ganeti node');
  });

  it('reads the disk paths of activate-disks, a path with ":" included', () => {
    expect(parseActivatedDisks('node1:disk/0:/dev/xenvg/a.disk0\nnode1:disk/1:/srv/f:x/disk1\n')).toEqual(['/dev/xenvg/a.disk0', '/srv/f:x/disk1']);
    expect(() => parseActivatedDisks('nonsense\n')).toThrow(/unexpected line/);
  });
});

describe('instance to subhost', () => {
  const inst = parseInstanceLine(LINE);
  it('maps disk N to vd<a+N> (partition 1 of disk 0 the root) and NIC N to eth<N> on its bridge', () => {
    const m = mapInstance(inst, ['/dev/dm-1', '/dev/dm-2']);
    expect(m.subhost).toBe('web1');
    expect(m.hostname).toBe('web1.example.org');
    expect(m.disks).toEqual([
      { index: 0, path: '/dev/dm-1', dev: 'vda', part: 1 },
      { index: 1, path: '/dev/dm-2', dev: 'vdb', part: 0 },
    ]);
    expect(m.nics.map((n) => `${n.ifname}@${n.bridge}=${n.mac}`)).toEqual(['eth0@br0=aa:00:00:12:34:56', 'eth1@br1=aa:00:00:12:34:57']);
    expect(configText(m)).toContain("DISKS=( vda:1:/dev/dm-1 vdb:0:/dev/dm-2 )\nBRIDGES=( br0:aa:00:00:12:34:56 br1:aa:00:00:12:34:57 )\nHOSTNAME=web1.example.org\nTUN=yes\n");
    expect(mappingLines(m)[1]).toBe('  disk/0 /dev/dm-1 -> /dev/vda1 (root)');
  });

  it('quotes a path for bash, and refuses an instance without disks or without a usable first label', () => {
    expect(configText(mapInstance(inst, ["/srv/it's", '/b']))).toContain(`DISKS=( 'vda:1:/srv/it'\\''s' vdb:0:/b )`);
    expect(() => mapInstance({ ...inst, diskCount: 0 })).toThrow(/no disk to boot from/);
    expect(() => subhostNameOf('a_very_long_name_indeed.example.org')).toThrow(/cannot name a subhost/);
    expect(() => configText(mapInstance(inst))).toThrow(/disk\/0 has no path/);
  });
});

describe('this node and the defaults file', () => {
  it('matches a node by full or short name', () => {
    expect(isThisNode('node1.example.org', 'node1.example.org')).toBe(true);
    expect(isThisNode('node1.example.org', 'node1')).toBe(true);
    expect(isThisNode('node1', 'node1.example.org')).toBe(true);
    expect(isThisNode('node1.example.org', 'node10')).toBe(false);
    expect(isThisNode('node1.example.org', 'node1.other.org')).toBe(false);
  });

  it('reads KEY=value lines without evaluating them', () => {
    expect(parseDefaults('# c\nGANETI_MASTER=m.example.org  # the master\nexport GANETI_SSH_CONFIG="/etc/x y"\nX=$(rm -rf /)\n')).toEqual({
      GANETI_MASTER: 'm.example.org',
      GANETI_SSH_CONFIG: '/etc/x y',
      X: '$(rm -rf /)',
    });
  });
});
