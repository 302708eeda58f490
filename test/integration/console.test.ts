import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main';
import { mount, umount } from '../../src/host/mount';
import { readMountinfo } from '../../src/host/mountinfo';
import { useBootedSubhost } from '../helpers/booted';
import { ok, spawnCli } from '../helpers/cli';
import { waitFor } from '../helpers/env';
import type { DiskSubhost } from '../helpers/fixtures';
import { bootAndSettle } from '../helpers/subhost';

/** Every command an operator can call ("cgroups setup" for a nested one), as the CLI defines them. */
function commandPaths(cmd: Command, parents: string[] = []): string[][] {
  return cmd
    .createHelp()
    .visibleCommands(cmd)
    .filter((c) => c.name() !== 'help')
    .flatMap((c) => [[...parents, c.name()], ...commandPaths(c, [...parents, c.name()])]);
}

describe('console log, mount propagation and help', () => {
  const b = useBootedSubhost('c');
  const { root, sh } = b;
  let sub: DiskSubhost;
  beforeAll(() => {
    sub = b.sub();
  });

  it('follows the console with logs -f until the subhost powers off', async () => {
    const child = spawnCli(['logs', sub.name, '-f'], { root });
    let seen = '';
    child.stdout!.on('data', (b) => (seen += b));
    const ended = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    await waitFor('the old output', () => seen.includes('rc: runlevel 2'));
    expect(sh('echo "hello console" > /dev/console').code).toBe(0);
    await waitFor('new output', () => seen.includes('hello console'));
    ok(['poweroff', sub.name], { root });
    expect(await ended).toBe(0);
    expect(seen).toContain('subhost-init: poweroff');
  });

  it('bounds the log: it rotates at 256 KiB and keeps one older file', async () => {
    await bootAndSettle(root, sub.name);
    // 700 KB of console output, in lines of 100 bytes.
    expect(sh('i=0; while [ $i -lt 7000 ]; do printf "%099d\\n" $i; i=$((i+1)); done > /dev/console').code).toBe(0);
    const log = `/run/subhost/.logs/${sub.name}.log`;
    await waitFor('the last line in the log', () => ok(['logs', sub.name], { root }).stdout.includes(`${'0'.repeat(95)}6999`), 30_000);
    expect(statSync(log).size).toBeLessThanOrEqual(256 * 1024);
    expect(statSync(`${log}.1`).size).toBeLessThanOrEqual(256 * 1024 + 100);
    expect(statSync(`${log}.1`).size).toBeGreaterThan(200 * 1024);
  });

  it('keeps mounts private both ways', async () => {
    const hostSide = join(sub.dir, 'live', 'mnt');
    mkdirSync(hostSide, { recursive: true });
    await mount('tstmnt', hostSide, { type: 'tmpfs' });
    try {
      expect(sh('grep -c " /mnt " /proc/mounts').stdout.trim()).toBe('0');
    } finally {
      await umount(hostSide);
    }
    expect(sh('grep -c " /data " /proc/mounts').stdout.trim()).toBe('1');
    expect(readMountinfo().some((m) => m.mountPoint === join(sub.dir, 'live', 'data'))).toBe(false);
  });

  it('has --help for every command, each listed in the help of the one above it', () => {
    const commands = commandPaths(buildProgram());
    const names = commands.map((c) => c.join(' '));
    expect(names).toEqual(expect.arrayContaining(['boot', 'start', 'enter', 'poweroff', 'stop', 'list', 'status', 'logs', 'autostart', 'check-mounts', 'usage', 'cgroups', 'cgroups setup', 'daemon', 'report', 'bootstrap', 'dhcp', 'gnt-start', 'gnt-stop', 'go']));
    expect(names).not.toContain('_reap');
    const main = ok(['--help']).stdout;
    for (const c of commands) {
      const above = c.length === 1 ? main : ok([...c.slice(0, -1), '--help']).stdout;
      expect(above, c.join(' ')).toMatch(new RegExp(`^  ${c[c.length - 1]}\\b`, 'm'));
      const r = ok([...c, '--help']);
      expect(r.stdout).toMatch(new RegExp(`^Usage: subhost ${c.join(' ')}\\b`));
    }
  });
});
