import { describe, expect, it } from 'vitest';
import { findCgroup2Mount } from '../../src/host/cgroupfs';
import { findV1Hierarchies } from '../../src/host/cgroup-v1';
import { parseMountinfo } from '../../src/host/mountinfo';

// Never assume one path (SPEC §1): the cgroup2 mount and the v1 hierarchies come from mountinfo.
const pureV2 = parseMountinfo(['24 1 254:0 / / rw - ext4 /dev/vda rw', '30 24 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot'].join('\n'));

const hybrid = parseMountinfo(
  [
    '24 1 254:0 / / rw - ext4 /dev/vda rw',
    '31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755',
    '32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct',
    '33 31 0:30 / /sys/fs/cgroup/cpuset rw - cgroup cgroup rw,cpuset',
    '34 31 0:31 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory',
    '35 31 0:33 / /sys/fs/cgroup/devices rw - cgroup cgroup rw,devices',
    '36 31 0:37 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd',
    '37 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw',
    // The same memory hierarchy mounted again, and a subtree of it: neither is a hierarchy of its own.
    '40 24 0:31 / /mnt/memory-again rw - cgroup cgroup rw,memory',
    '41 24 0:31 /lxc/x /mnt/memory-subtree rw - cgroup cgroup rw,memory',
    // A cgroup2 subtree (in a container) is not the mount to use.
    '42 24 0:38 /sub /mnt/unified-sub rw - cgroup2 cgroup2 rw',
  ].join('\n'),
);

describe('finding the cgroup mounts', () => {
  it('takes cgroup2 at /sys/fs/cgroup on a pure v2 host, with no v1 hierarchies', () => {
    expect(findCgroup2Mount(pureV2)).toBe('/sys/fs/cgroup');
    expect(findV1Hierarchies(pureV2)).toEqual([]);
  });

  it('takes cgroup2 at /sys/fs/cgroup/unified on a hybrid host, and each v1 hierarchy subhost uses once', () => {
    expect(findCgroup2Mount(hybrid)).toBe('/sys/fs/cgroup/unified');
    expect(findV1Hierarchies(hybrid)).toEqual([
      { mountPoint: '/sys/fs/cgroup/cpu,cpuacct', controllers: ['cpu', 'cpuacct'] },
      { mountPoint: '/sys/fs/cgroup/memory', controllers: ['memory'] },
      { mountPoint: '/sys/fs/cgroup/devices', controllers: ['devices'] },
    ]);
  });

  it('says so when no cgroup2 is mounted', () => {
    expect(() => findCgroup2Mount(parseMountinfo('24 1 254:0 / / rw - ext4 /dev/vda rw'))).toThrow(/no cgroup2 filesystem is mounted/);
  });
});
