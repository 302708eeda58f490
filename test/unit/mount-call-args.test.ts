import { describe, expect, it } from 'vitest';
import { mountCallArgs } from '../../src/host/mount';

describe('mountCallArgs: the one mount(2) that mount(8) would make, or none', () => {
  it('turns mount(8)\'s flag options into MS_* flags and passes the rest as data', () => {
    expect(mountCallArgs({ type: 'ext4', options: ['nosuid', 'nodev'] })).toEqual({ type: 'ext4', flags: 2 | 4, data: '', bind: false });
    expect(mountCallArgs({ type: 'overlay', options: ['nosuid', 'lowerdir=/a', 'upperdir=/b', 'workdir=/c'] })).toEqual({ type: 'overlay', flags: 2, data: 'lowerdir=/a,upperdir=/b,workdir=/c', bind: false });
    expect(mountCallArgs({ type: 'tmpfs', options: ['ro', 'noexec', 'rw'] })).toEqual({ type: 'tmpfs', flags: 1 | 8, data: '', bind: false });
    expect(mountCallArgs({ bind: true })).toEqual({ type: '', flags: 4096, data: '', bind: true });
    expect(mountCallArgs({ rbind: true })).toEqual({ type: '', flags: 4096 | 16384, data: '', bind: true });
  });

  it('leaves to mount(8) what it does more than one call for, or acts on itself', () => {
    // A bind with options is a bind and then a remount; without a type mount(8) probes the source.
    expect(mountCallArgs({ bind: true, options: ['ro'] })).toBeUndefined();
    expect(mountCallArgs({ rbind: true, type: 'none' })).toBeUndefined();
    expect(mountCallArgs({ options: ['nosuid'] })).toBeUndefined();
    for (const o of ['defaults', 'loop', 'offset=512', 'x-systemd.automount', 'X-mount.mkdir=0700', 'helper=foo', 'remount', 'user', 'nofail', 'toString', 'constructor', 'unknownflag']) {
      expect(mountCallArgs({ type: 'ext4', options: ['nosuid', o] }), o).toBeUndefined();
    }
  });
});
