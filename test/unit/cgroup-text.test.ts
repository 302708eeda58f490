import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { flatKeyedValue, parseBlkioRwstat, parseFlatKeyed, parseIoStat, parsePressure, parseProcCgroup, parseSingle } from '../../src/host/cgroup-text';

const fixture = (path: string) => readFileSync(join(__dirname, 'fixtures/cgroup', path), 'utf8');

describe('flatKeyedValue', () => {
  it('gives what parseFlatKeyed gives for every key of the kernel files, and for absent keys', () => {
    for (const f of ['v2-pure/cap/memory.stat', 'v1/cap/memory.stat', 'v2-pure/cap/cpu.stat', 'v2-hybrid/cap/cpu.stat', 'v1/cap/cpuacct.stat']) {
      const text = fixture(f);
      const kv = parseFlatKeyed(text);
      expect(kv.size).toBeGreaterThan(1);
      for (const k of [...kv.keys(), 'nope', 'user', 'total']) expect(flatKeyedValue(text, k)).toBe(kv.get(k));
    }
  });
  it('reads the first and the last line, a line without newline, the last of repeated keys, and skips values that are not numbers', () => {
    const cases = ['anon 1\nfile 2', 'file 2\nanon 3\n', 'anon x\nanon 4\nanon y\n', 'anon  5 \n', 'xanon 6\nanon_x 7\n', '', 'anon\n', ' anon 8\n'];
    for (const text of cases) expect(flatKeyedValue(text, 'anon')).toBe(parseFlatKeyed(text).get('anon'));
    expect(flatKeyedValue('anon x\nanon 4\nanon y\n', 'anon')).toBe(4);
  });
});

describe('parseFlatKeyed (kernel text)', () => {
  it('reads v2 memory.stat', () => {
    const kv = parseFlatKeyed(fixture('v2-pure/cap/memory.stat'));
    expect(kv.get('anon')).toBe(20316160);
    expect(kv.get('file')).toBe(0);
    expect(kv.get('thp_collapse_alloc')).toBe(0);
    expect(kv.size).toBe(47);
  });
  it('reads v1 memory.stat, with its hierarchical total_ lines', () => {
    const kv = parseFlatKeyed(fixture('v1/cap/memory.stat'));
    expect(kv.get('total_rss')).toBe(110592);
    expect(kv.get('total_cache')).toBe(24576);
    expect(kv.get('hierarchical_memsw_limit')).toBe(9223372036854771712);
  });
  it('reads cpu.stat (v2 with and without the cpu controller) and cpuacct.stat', () => {
    expect(Object.fromEntries(parseFlatKeyed(fixture('v2-pure/cap/cpu.stat')))).toMatchObject({ user_usec: 12014851, system_usec: 1062019, nr_throttled: 261 });
    expect(Object.fromEntries(parseFlatKeyed(fixture('v2-hybrid/cap/cpu.stat')))).toEqual({ usage_usec: 776709, user_usec: 660599, system_usec: 116109, nice_usec: 0 });
    expect(Object.fromEntries(parseFlatKeyed(fixture('v1/cap/cpuacct.stat')))).toEqual({ user: expect.any(Number), system: expect.any(Number) });
    expect(parseFlatKeyed(fixture('v1/cap/cpu.stat')).get('nr_throttled')).toBeGreaterThan(0);
  });
});

describe('parseSingle', () => {
  it('reads numbers and "max"', () => {
    expect(parseSingle(fixture('v2-pure/cap/memory.current'))).toBe(20795392);
    expect(parseSingle(fixture('v1/cap/cpuacct.usage_user'))).toBe(659976535);
    expect(parseSingle('max\n')).toBeNull();
    expect(parseSingle('-1\n')).toBe(-1);
    expect(parseSingle('50000 100000\n')).toBeUndefined();
  });
});

describe('parseIoStat (v2 io.stat)', () => {
  it('reads bytes per device', () => {
    expect(parseIoStat(fixture('v2-pure/cap/io.stat'))).toEqual([{ device: '1:0', readBytes: 6553600, writeBytes: 13107200 }]);
  });
  it('takes several devices and ignores keys it does not know', () => {
    const text = '254:0 rbytes=1 wbytes=2 rios=1 wios=1 dbytes=0 dios=0 cost.vrate=100.00\n7:3 rbytes=10 wbytes=20 rios=1 wios=1 dbytes=0 dios=0\n';
    expect(parseIoStat(text)).toEqual([
      { device: '254:0', readBytes: 1, writeBytes: 2 },
      { device: '7:3', readBytes: 10, writeBytes: 20 },
    ]);
    expect(parseIoStat('')).toEqual([]);
  });
});

describe('parseBlkioRwstat (v1 blkio.throttle.io_service_bytes_recursive)', () => {
  it('reads Read and Write per device, leaving out Sync, Async, Discard and Total', () => {
    expect(parseBlkioRwstat(fixture('v1/cap/blkio.throttle.io_service_bytes_recursive'))).toEqual([{ device: '7:0', readBytes: 6553600, writeBytes: 13107200 }]);
  });
  it('keeps devices apart, in the order listed', () => {
    const text = '8:0 Read 1\n8:0 Write 2\n8:0 Sync 3\n7:1 Read 10\n7:1 Write 20\n7:1 Total 30\nTotal 33\n';
    expect(parseBlkioRwstat(text)).toEqual([
      { device: '8:0', readBytes: 1, writeBytes: 2 },
      { device: '7:1', readBytes: 10, writeBytes: 20 },
    ]);
  });
  it('lists nothing when blk-throttle counted nothing', () => {
    expect(parseBlkioRwstat(fixture('v1-uncounted/cap/blkio.throttle.io_service_bytes_recursive'))).toEqual([]);
  });
});

describe('parsePressure', () => {
  it('reads some and full of cpu.pressure', () => {
    expect(parsePressure(fixture('v2-pure/cap/cpu.pressure'))).toEqual({
      some: { avg10: 83.52, avg60: 33.19, avg300: 8.12, totalUs: 25035549 },
      full: { avg10: 45.66, avg60: 17.29, avg300: 4.2, totalUs: 13087304 },
    });
  });
  it('reads memory.pressure and io.pressure of a hybrid host', () => {
    expect(parsePressure(fixture('v2-hybrid/cap/memory.pressure'))).toEqual({ some: { avg10: 0, avg60: 0, avg300: 0, totalUs: 0 }, full: { avg10: 0, avg60: 0, avg300: 0, totalUs: 0 } });
    expect(parsePressure(fixture('v2-hybrid/cap/io.pressure'))?.some.totalUs).toBeGreaterThan(0);
  });
  it('takes a file with only a some line (cpu.pressure before 5.13) and refuses garbage', () => {
    expect(parsePressure('some avg10=1.50 avg60=0.00 avg300=0.00 total=42\n')).toEqual({ some: { avg10: 1.5, avg60: 0, avg300: 0, totalUs: 42 } });
    expect(parsePressure('')).toBeUndefined();
    expect(parsePressure('some avg10=x\n')).toBeUndefined();
    expect(parsePressure('some avg10=1.00 avg60=0.00 total=5\n')).toBeUndefined();
    expect(parsePressure('full avg10=1.00 avg60=0.00 avg300=0.00 total=5\n')).toBeUndefined();
    expect(parsePressure('some avg10=1.00 avg60=2.00 avg300=3.00 total=7')).toEqual({ some: { avg10: 1, avg60: 2, avg300: 3, totalUs: 7 } });
  });
});

describe('parseProcCgroup', () => {
  it('splits cgroup2 and the v1 controllers, leaving out named hierarchies', () => {
    const text = '9:name=systemd:/\n8:pids:/vm/a\n4:memory:/process_api/d7\n1:cpu,cpuacct:/vm/a\n0::/vm/a\n';
    expect(parseProcCgroup(text)).toEqual({ v2: '/vm/a', v1: { pids: '/vm/a', memory: '/process_api/d7', cpu: '/vm/a', cpuacct: '/vm/a' } });
    expect(parseProcCgroup('0::/\n')).toEqual({ v2: '/', v1: {} });
  });
});
