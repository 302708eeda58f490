import { describe, expect, it } from 'vitest';
import { humanBytes, reportLines } from '../../src/cli/commands/check-mounts';
import { percent } from '../../src/cli/main';
import type { CheckReport } from '../../src/core/inspect/check-mounts';
import type { FsUsage } from '../../src/core/inspect/space';
import { netnsBatch } from '../../src/core/steps/network';
import { spaceOf } from '../../src/host/statfs';

describe('spaceOf (statfs as df counts it)', () => {
  it('counts used, available to users (not the reserved blocks) and rounds the percentage up', () => {
    expect(spaceOf({ bsize: 4096, blocks: 1000, bfree: 300, bavail: 250, files: 200, ffree: 150 })).toEqual({
      sizeBytes: 4096000,
      usedBytes: 700 * 4096,
      freeBytes: 250 * 4096,
      usedPercent: 74,
      inodes: 200,
      inodesUsed: 50,
      inodesUsedPercent: 25,
    });
  });
  it('says 100% when only the reserved blocks are left, and 0% inodes on filesystems without a fixed count', () => {
    const s = spaceOf({ bsize: 1024, blocks: 100, bfree: 5, bavail: 0, files: 0, ffree: 0 });
    expect(s.usedPercent).toBe(100);
    expect(s.inodesUsedPercent).toBe(0);
  });
});

describe('check-mounts output', () => {
  const fs = (over: boolean): FsUsage => ({ mountPoint: '/', hostPath: '/proc/9/root', source: '/dev/loop3', fsType: 'ext4', sizeBytes: 48 << 20, usedBytes: 3 << 20, freeBytes: 41 << 20, usedPercent: 7, inodes: 100, inodesUsed: 10, inodesUsedPercent: 10, overThreshold: over });
  const report = (r: Partial<CheckReport>): CheckReport => ({ ok: true, thresholdPercent: 90, subhosts: [], leftovers: [], doubleMounts: [], errors: [], ...r });

  it('prints sizes like df -h', () => {
    expect(humanBytes(0)).toBe('0B');
    expect(humanBytes(1536)).toBe('1.5K');
    expect(humanBytes(48 << 20)).toBe('48M');
    expect(humanBytes(3 * 1024 ** 4)).toBe('3.0T');
  });

  it('says when all is well', () => {
    const lines = reportLines(report({ subhosts: [{ name: 'web1', state: 'running', filesystems: [fs(false)] }] }));
    expect(lines[0]).toMatch(/^NAME\s+STATE\s+MOUNT\s+SOURCE\s+TYPE\s+SIZE\s+USED\s+FREE\s+USE%\s+INODES%$/);
    expect(lines[1]).toMatch(/^web1\s+running\s+\/\s+\/dev\/loop3\s+ext4\s+48M\s+3\.0M\s+41M\s+7%\s+10%$/);
    expect(lines.at(-1)).toBe('check-mounts: nothing left over, no filesystem at or over 90%');
  });

  it('marks a full filesystem and lists leftovers with how to release them', () => {
    const lines = reportLines(
      report({ ok: false, subhosts: [{ name: 'web1', state: 'running', filesystems: [fs(true)] }], leftovers: [{ kind: 'loop', subhost: 'web2', id: '/dev/loop7', detail: '/d/web2.raw' }] }),
    );
    expect(lines[1]).toMatch(/over 90%$/);
    expect(lines).toContainEqual(expect.stringMatching(/^loop\s+web2\s+\/dev\/loop7\s+\/d\/web2\.raw$/));
    expect(lines.at(-1)).toBe('check-mounts: 1 left over (--fix releases them), 1 filesystem at or over 90%');
  });

  it('tells what --fix released', () => {
    const lines = reportLines(report({ fixed: [{ kind: 'netns', subhost: 'web2', id: 'web2' }] }));
    expect(lines).toEqual(['released: netns web2 (web2)', 'check-mounts: nothing left over, no filesystem at or over 90%, 1 released']);
  });

  it('takes --threshold as a percentage from 1 to 100', () => {
    expect(percent('85')).toBe(85);
    for (const bad of ['0', '101', '9.5', 'lots']) expect(() => percent(bad)).toThrow(/percentage from 1 to 100/);
  });
});

describe('the network namespace step', () => {
  it('makes and marks the namespace in one ip process (lo up, alias subhost:NAME)', () => {
    expect(netnsBatch({ netns: 'web1', alias: 'subhost:web1' })).toEqual(['netns add web1', 'netns exec web1 ip link set lo up alias subhost:web1']);
  });
});

describe('check-mounts: one image mounted twice (issue 12, class 2)', () => {
  it('prints the double mount and fails the check', async () => {
    const { reportLines } = await import('../../src/cli/commands/check-mounts');
    const lines = reportLines({ ok: false, thresholdPercent: 90, subhosts: [], leftovers: [], errors: [], doubleMounts: [{ image: '/srv/a.raw', mounts: [{ dev: '/dev/loop3p1', mountPoint: '/opt/sub/a/live' }, { dev: '/dev/loop4p1', mountPoint: '/opt/sub/b/live' }] }] });
    expect(lines).toContain('mounted twice: /srv/a.raw through /dev/loop3p1 on /opt/sub/a/live and /dev/loop4p1 on /opt/sub/b/live');
    expect(lines.at(-1)).toMatch(/1 image mounted twice/);
  });
});
