import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseSize, validateConfig } from '../../src/core/config/validate';
import { deriveMac } from '../../src/core/config/mac';

const v = (raw: Record<string, string | string[]>) => validateConfig('web1', raw, '/opt/sub/web1');

describe('validateConfig', () => {
  it('parses DISKS, BRIDGES and limits', () => {
    const c = v({ DISKS: ['vda:1:/d/a.raw', 'vdb:0:data.raw', 'vdc:2:/d/with:colon.raw'], BRIDGES: ['br0:06:A7:dd:b4:02:f2', 'br1'], CPUS: '1.5', MEMORY: '2G', PIDS: '512', IO_WEIGHT: '100', AUTOSTART: 'yes' });
    expect(c.disks).toEqual([
      { dev: 'vda', part: 1, image: '/d/a.raw' },
      { dev: 'vdb', part: 0, image: '/opt/sub/web1/data.raw' },
      { dev: 'vdc', part: 2, image: '/d/with:colon.raw' },
    ]);
    expect(c.bridges).toEqual([
      { bridge: 'br0', mac: '06:a7:dd:b4:02:f2', derivedMac: false },
      { bridge: 'br1', mac: deriveMac('web1', 1), derivedMac: true },
    ]);
    expect(c.limits).toEqual({ cpus: 1.5, memory: 2 * 1024 ** 3, pids: 512, ioWeight: 100 });
    expect(c.hostname).toBe('web1');
    expect(c.autostart).toBe(true);
  });

  it.each([
    [{ DISKS: ['vda:1'] }, 'DISKS[0] ("vda:1"): expected dev:part:image'],
    [{ DISKS: ['vda:x:/a'] }, 'DISKS[0] ("vda:x:/a"): partition index "x" must be a number from 0 (whole image) to 255'],
    [{ DISKS: ['vda:1:'] }, 'DISKS[0] ("vda:1:"): the image path is empty'],
    [{ DISKS: ['1da:1:/a'] }, 'DISKS[0] ("1da:1:/a"): device name "1da" must be a-z then a-z/0-9, at most 16 characters (e.g. vda)'],
    [{ DISKS: ['vda:1:/a', 'vda:1:/b'] }, 'DISKS[1] ("vda:1:/b"): device /dev/vda1 is already declared by DISKS[0]'],
    [{ BRIDGES: ['br0:zz'] }, 'BRIDGES[0] ("br0:zz"): MAC "zz" is malformed (expected six hex pairs like 02:a7:dd:b4:02:f2)'],
    [{ BRIDGES: ['br0:01:00:5e:00:00:01'] }, 'BRIDGES[0] ("br0:01:00:5e:00:00:01"): MAC 01:00:5e:00:00:01 is a multicast address (lowest bit of the first byte set)'],
    [{ BRIDGES: ['br0:00:00:00:00:00:00'] }, 'BRIDGES[0] ("br0:00:00:00:00:00:00"): MAC 00:00:00:00:00:00 is the all-zero address'],
    [{ BRIDGES: ['a-very-long-bridge-name'] }, 'BRIDGES[0] ("a-very-long-bridge-name"): bridge name "a-very-long-bridge-name" is not a valid interface name'],
    [{ BRIDGES: ['b:02:00:00:00:00:01', 'c:02:00:00:00:00:01'] }, 'BRIDGES[1] ("c:02:00:00:00:00:01"): MAC 02:00:00:00:00:01 is also used by BRIDGES[0]'],
    [{ CPUS: '0' }, 'CPUS ("0"): must be a positive number of CPUs, e.g. 1.5'],
    [{ MEMORY: '12' }, 'MEMORY ("12"): must be a size of at least 1M, e.g. 512M or 2G'],
    [{ PIDS: '-1' }, 'PIDS ("-1"): must be a whole number of at least 1'],
    [{ IO_WEIGHT: '20000' }, 'IO_WEIGHT ("20000"): must be a whole number from 1 to 10000'],
    [{ AUTOSTART: 'maybe' }, 'AUTOSTART ("maybe"): must be yes or no'],
    [{ HOSTNAME: 'a_b' }, 'HOSTNAME ("a_b"): is not a valid host name (a-z, 0-9 and -, dot-separated labels)'],
    [{ HOSTNAME: ['a', 'b'] }, 'HOSTNAME ("a b"): must be a plain string, not an array'],
    [{ BASE: 'rel/path' }, 'BASE ("rel/path"): must be an absolute path'],
    [{ BASE: '/base', DISKS: ['vda:1:/a'] }, 'BASE ("/base"): cannot be combined with DISKS (BASE is for overlay subhosts)'],
  ])('refuses %j', (raw, message) => {
    expect(() => v(raw)).toThrow(message);
  });

  it('derives a stable, locally administered unicast MAC', () => {
    const m = deriveMac('web1', 0);
    expect(m).toBe(deriveMac('web1', 0));
    expect(m).not.toBe(deriveMac('web1', 1));
    expect(m).not.toBe(deriveMac('web2', 0));
    expect(parseInt(m.slice(0, 2), 16) & 3).toBe(2);
    // The first six bytes of SHA-256("subhost:NAME:INDEX"), as every release has derived them.
    expect(m).toBe('32:dd:cb:b2:40:51');
    for (const [name, i] of [['web1', 0], ['a', 7], ['db-0123456789', 12]] as const) {
      const h = createHash('sha256').update(`subhost:${name}:${i}`).digest();
      expect(deriveMac(name, i)).toBe([(h[0] & 0xfc) | 2, ...h.subarray(1, 6)].map((b) => b.toString(16).padStart(2, '0')).join(':'));
    }
  });

  it('reads sizes with units', () => {
    expect(parseSize('512M')).toBe(512 * 1024 ** 2);
    expect(parseSize('1.5G')).toBe(1.5 * 1024 ** 3);
    expect(parseSize('2GiB')).toBe(2 * 1024 ** 3);
    expect(parseSize('100')).toBe(100);
    expect(parseSize('x')).toBeUndefined();
  });
});

describe('values the kernel would refuse or change (issue 12, class 7)', () => {
  it('refuses limits outside the kernel range, at their edges', () => {
    expect(v({ PIDS: '4194304' }).limits.pids).toBe(4194304);
    expect(() => v({ PIDS: '4194305' })).toThrow(/PIDS \("4194305"\): must be at most 4194304/);
    expect(v({ CPUS: '0.01' }).limits.cpus).toBe(0.01);
    expect(() => v({ CPUS: '0.009' })).toThrow(/CPUS \("0.009"\): must be at least 0.01/);
    expect(v({ MEMORY: '8T' }).limits.memory).toBe(8 * 1024 ** 4);
    expect(() => v({ MEMORY: '9999999T' })).toThrow(/MEMORY .*: must be at most 8P/);
  });
  it('takes at most 10 bridges, so host links NAME0-NAME9 never collide with another NAME', () => {
    expect(v({ BRIDGES: Array(10).fill('br0') }).bridges).toHaveLength(10);
    expect(() => v({ BRIDGES: Array(11).fill('br0') })).toThrow(/BRIDGES\[10\] \("br0"\): at most 10 interfaces: host links are web10 to web19/);
  });
  it('takes NAME as the host name when HOSTNAME is unset, whatever NAME is', () => {
    expect(validateConfig('sx--', {}, '/opt/sub/sx--').hostname).toBe('sx--');
    expect(() => validateConfig('sx--', { HOSTNAME: 'bad-' }, '/opt/sub/sx--')).toThrow(/HOSTNAME \("bad-"\)/);
  });
});
