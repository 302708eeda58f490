import { describe, expect, it } from 'vitest';
import { mountsUnder, parseMountinfo, parseMountsAt, parseMountsOfTypes } from '../../src/host/mountinfo';
import { parseStat } from '../../src/host/proc';
import { checkName, isValidHostname } from '../../src/core/config/names';
import { hostSideMac, macProblem, parseMac } from '../../src/core/config/mac';
import { table, formatDuration } from '../../src/plain-text';

describe('parseStat', () => {
  it('finds the start time after a comm with spaces and parentheses', () => {
    const st = parseStat('4242 (a (b) c) S 1 4242 4242 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 987654 1000 100 18446744073709551615 0');
    expect(st).toEqual({ pid: 4242, comm: 'a (b) c', state: 'S', ppid: 1, start: 987654 });
  });
});

describe('parseMountinfo', () => {
  const text = [
    '24 1 254:0 / / rw,relatime - ext4 /dev/vda rw',
    '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
    '60 24 7:2 / /opt/sub/a\\040b/live rw,nodev - ext4 /dev/loop2 rw',
    '61 60 0:50 / /opt/sub/a\\040b/live/proc rw - proc proc rw',
  ].join('\n');
  it('unescapes octal and splits the optional fields', () => {
    const m = parseMountinfo(text);
    expect(m[2]).toMatchObject({ id: 60, parent: 24, majorMinor: '7:2', mountPoint: '/opt/sub/a b/live', fsType: 'ext4', source: '/dev/loop2' });
    expect(m[1].fsType).toBe('cgroup2');
    // Split when asked for: each time a new array, so a caller's change leaves the entry as read.
    expect(m[2].options).toEqual(['rw', 'nodev']);
    m[2].options.push('ro');
    expect(m[2].options).toEqual(['rw', 'nodev']);
    expect(m[1].superOptions).toEqual(['rw']);
  });
  it('parses only the lines of the paths asked for, and answers as the whole text does', () => {
    const withTwin = `${text}\n62 24 7:3 / /opt/sub/a\\040b2/live rw - ext4 /dev/loop3 rw\n63 24 7:4 /opt/sub/a\\040b /srv rw - ext4 /dev/loop4 rw`;
    for (const dir of ['/opt/sub/a b', '/opt/sub/a b/live', '/opt/sub/a b/live/proc', '/opt/sub/a', '/srv', '/nowhere']) {
      const some = parseMountsAt(withTwin, [dir]);
      expect(mountsUnder(some, dir)).toEqual(mountsUnder(parseMountinfo(withTwin), dir));
    }
    expect(parseMountsAt(withTwin, ['/opt/sub/a b']).map((m) => m.id)).toEqual([60, 61, 62, 63]);
    expect(parseMountsAt(withTwin, ['/nowhere'])).toEqual([]);
  });
  it('parses only the lines of the filesystem types asked for (the cgroup mounts), whatever a path holds', () => {
    const hybrid = [
      text,
      '42 31 0:39 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory',
      '43 31 0:40 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu',
      // A folder named " - cgroup2 x": mountinfo prints its spaces as \040.
      '64 24 7:5 / /opt/sub/c\\040-\\040cgroup2\\040x/live rw - ext4 /dev/loop5 rw',
      '65 24 0:41 / /mnt/cg2fuse rw - fuse.cgroup2 fuse rw',
    ].join('\n');
    const all = parseMountinfo(hybrid).filter((m) => m.fsType === 'cgroup2' || m.fsType === 'cgroup');
    expect(parseMountsOfTypes(hybrid, ['cgroup2', 'cgroup'])).toEqual(all);
    expect(all.map((m) => m.id)).toEqual([41, 42, 43]);
    expect(parseMountsOfTypes(hybrid, ['cgroup2']).map((m) => m.mountPoint)).toEqual(['/sys/fs/cgroup/unified']);
    expect(parseMountsOfTypes(text, ['cgroup'])).toEqual([]);
  });
  it('orders mounts under a folder deepest first', () => {
    expect(mountsUnder(parseMountinfo(text), '/opt/sub/a b').map((m) => m.mountPoint)).toEqual(['/opt/sub/a b/live/proc', '/opt/sub/a b/live']);
    expect(mountsUnder(parseMountinfo(text), '/opt/sub/a')).toEqual([]);
  });
});

describe('names and MACs', () => {
  it('accepts NAMEs that leave room for an interface index', () => {
    expect(checkName('a')).toBe('a');
    expect(checkName('web-1')).toBe('web-1');
    expect(checkName('abcdefghijklm')).toBe('abcdefghijklm');
    expect(() => checkName('abcdefghijklmn')).toThrow(/longer than 13/);
    expect(() => checkName('')).toThrow(/empty/);
    expect(() => checkName('-a')).toThrow(/starting with a letter or digit/);
  });
  it('checks host names', () => {
    expect(isValidHostname('web-1.example.org')).toBe(true);
    expect(isValidHostname('-web')).toBe(false);
    expect(isValidHostname('a'.repeat(64))).toBe(false);
  });
  it('checks MACs and derives the host end', () => {
    expect(parseMac('06:A7:DD:B4:02:F2')).toBe('06:a7:dd:b4:02:f2');
    expect(parseMac('06:a7:dd:b4:02')).toBeUndefined();
    expect(macProblem('06:a7:dd:b4:02:f2')).toBeUndefined();
    expect(hostSideMac('06:a7:dd:b4:02:f2')).toBe('fe:a7:dd:b4:02:f2');
  });
});

describe('formatting', () => {
  it('pads columns but not the last', () => {
    expect(table([['A', 'BB', 'C'], ['aaa', 'b', 'cc']])).toEqual(['A    BB  C', 'aaa  b   cc']);
  });
  it('prints durations compactly', () => {
    expect(formatDuration(5)).toBe('5s');
    expect(formatDuration(65)).toBe('1m5s');
    expect(formatDuration(3700)).toBe('1h1m');
    expect(formatDuration(90000)).toBe('1d1h');
  });
});

describe('CommandError', () => {
  it('names the program once, whether or not its message starts with its name', async () => {
    const { CommandError } = await import('../../src/errors');
    expect(new CommandError(['mount', '/dev/x', '/y'], 32, null, 'mount: /y: wrong fs type.\n').message).toBe('mount: /y: wrong fs type.');
    expect(new CommandError(['/usr/sbin/losetup', '-d'], 1, null, 'failed to detach\n').message).toBe('losetup: failed to detach');
    expect(new CommandError(['ip', 'link'], null, 'SIGKILL', '').message).toBe('ip: killed by SIGKILL');
  });
});
