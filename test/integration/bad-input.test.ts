import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli';
import { makeTestRoot, PREFIX, removeTestRoot, testMac, testName } from '../helpers/env';
import { createDiskSubhost, type DiskSubhost } from '../helpers/fixtures';
import { expectRefused as refused, withConfig as configured } from '../helpers/refused';
import { createBridge, deleteBridge } from '../helpers/net';
import { bootAndSettle } from '../helpers/subhost';
import { RUN_DIR } from '../helpers/prefix-claims';
import { identityOf } from '../../src/host/file-identity';

/** Each case: a config (or argv) that must fail with one line naming what and why, touching nothing. */
describe('bad input', () => {
  const root = makeTestRoot();
  const bridge = `${PREFIX}bbr${process.pid % 10000}`;
  let good: DiskSubhost;
  let other: DiskSubhost;
  const [goodMac, otherMac, anyMac] = [testMac(1), testMac(2), testMac(3)];

  beforeAll(async () => {
    await createBridge(bridge);
    good = await createDiskSubhost(root, testName('g'), { bridges: [`${bridge}:${goodMac}`] });
    other = await createDiskSubhost(root, testName('o'), { bridges: [`${bridge}:${otherMac}`], dataDisk: false });
  });
  afterAll(async () => {
    cli(['stop', other.name], { root });
    await deleteBridge(bridge);
    removeTestRoot(root);
  });

  const expectRefused = (args: string[], code: number, message: RegExp) => refused(root, args, code, message);
  const withConfig = (config: string) => configured(root, config);

  const disk = () => good.disk1;

  it.each([
    ['a missing image', () => `DISKS=( vda:1:/nonexistent/disk.raw )`, /DISKS\[0\] \("vda:1:\/nonexistent\/disk.raw"\): image \/nonexistent\/disk.raw does not exist/],
    ['a partition that is not in the image', () => `DISKS=( vda:2:${disk()} )`, /DISKS\[0\] .*: partition 2 does not exist in .* \(it has partition 1\)/],
    ['a malformed DISKS element', () => `DISKS=( vda1 )`, /DISKS\[0\] \("vda1"\): expected dev:part:image/],
    ['a partition index that is not a number', () => `DISKS=( vda:one:${disk()} )`, /DISKS\[0\] .*: partition index "one" must be a number/],
    ['a bad device name', () => `DISKS=( VDA:1:${disk()} )`, /DISKS\[0\] .*: device name "VDA"/],
    ['the same device twice', () => `DISKS=( vda:1:${disk()} vda:1:${disk()} )`, /DISKS\[1\] .*: device \/dev\/vda1 is already declared by DISKS\[0\]/],
    ['an unknown bridge', () => `DISKS=( vda:1:${disk()} )\nBRIDGES=( nosuchbr0:${anyMac} )`, new RegExp(`BRIDGES\\[0\\] \\("nosuchbr0:${anyMac}"\\): bridge nosuchbr0 does not exist`)],
    ['an interface that is not a bridge', () => `DISKS=( vda:1:${disk()} )\nBRIDGES=( lo )`, /BRIDGES\[0\] \("lo"\): lo is not a bridge/],
    ['a malformed MAC', () => `DISKS=( vda:1:${disk()} )\nBRIDGES=( ${bridge}:02:00:00:zz:00:01 )`, /BRIDGES\[0\] .*: MAC "02:00:00:zz:00:01" is malformed/],
    ['a multicast MAC', () => `DISKS=( vda:1:${disk()} )\nBRIDGES=( ${bridge}:03:00:00:00:00:01 )`, /BRIDGES\[0\] .*: MAC 03:00:00:00:00:01 is a multicast address/],
    ['a duplicate MAC', () => `DISKS=( vda:1:${disk()} )\nBRIDGES=( ${bridge}:${anyMac} ${bridge}:${anyMac} )`, new RegExp(`BRIDGES\\[1\\] .*: MAC ${anyMac} is also used by BRIDGES\\[0\\]`)],
    ['a config that fails in bash', () => `DISKS=( vda:1:${disk()} )\nnosuchcommand-xyz\n`, /config .*: fails in bash: .*line 2: nosuchcommand-xyz: command not found/],
    ['a config with a syntax error', () => `DISKS=( vda:1:${disk()}\n`, /config .*: fails in bash: line 1: unexpected EOF while looking for matching/],
    ['a bad limit', () => `DISKS=( vda:1:${disk()} )\nMEMORY=lots`, /MEMORY \("lots"\): must be a size/],
    ['a bad host name', () => `DISKS=( vda:1:${disk()} )\nHOSTNAME=-bad_host`, /HOSTNAME \("-bad_host"\): is not a valid host name/],
    ['no DISKS (nor BASE, nor a root/ folder)', () => `HOSTNAME=x`, /DISKS and BASE are not set in .* and .*\/root does not exist: nothing to use as the root filesystem/],
  ])('refuses %s', (_what, config, message) => {
    const name = withConfig(config());
    expectRefused(['boot', name], 1, message);
  });

  it.each([
    ['upper case', 'Tst1', /NAME "Tst1": use a-z, 0-9 and '-'/],
    ['too long', 'tst45678901234', /NAME "tst45678901234": longer than 13 characters/],
    ['a slash', 'tst/../x', /NAME "tst\/..\/x"/],
    ['an underscore', 'tst_1', /NAME "tst_1"/],
  ])('refuses a NAME with %s', (_what, name, message) => {
    for (const cmd of ['boot', 'stop', 'status', 'enter', 'poweroff']) expectRefused([cmd, name], 1, message);
  });

  it('refuses a NAME with a leading dash (after --; before it, it is an unknown option)', () => {
    expectRefused(['boot', '--', '-tst'], 1, /NAME "-tst": use a-z/);
    expectRefused(['boot', '-tst'], 2, /unknown option '-tst'/);
  });

  it('refuses an unreadable config', () => {
    expectRefused(['boot', good.name, '--config', '/nonexistent/config'], 1, /config \/nonexistent\/config: cannot read it/);
    const dir = join(root, 'a-dir');
    mkdirSync(dir);
    expectRefused(['boot', good.name, '--config', dir], 1, /config .*a-dir: cannot read it: not a regular file/);
    const locked = join(root, 'locked');
    writeFileSync(locked, 'DISKS=()');
    chmodSync(locked, 0);
    // root reads anything: a file without permissions is still read (and its empty DISKS refused), never a crash.
    expectRefused(['boot', good.name, '--config', locked, '--dry-run'], 1, new RegExp(`DISKS and BASE are not set in ${locked} and `));
  });

  it('refuses an image or a MAC that another subhost uses', async () => {
    // Settled (rc 2 done), so that its processes hold still while we compare.
    await bootAndSettle(root, other.name);
    const sameImage = withConfig(`DISKS=( vda:1:${other.disk1} )`);
    expectRefused(['boot', sameImage], 1, new RegExp(`image .* is in use by subhost ${other.name}`));
    const sameMac = withConfig(`DISKS=( vda:1:${good.disk1} )\nBRIDGES=( ${bridge}:${otherMac} )`);
    expectRefused(['boot', sameMac], 1, new RegExp(`MAC ${otherMac} is already used by subhost ${other.name}`));
    // What the checks read of it: claims.json beside its record, the record when that is torn or
    // missing (a crash while writing it; a runtime folder of an older subhost).
    const claimsFile = join(RUN_DIR, other.name, 'claims.json');
    expect(JSON.parse(readFileSync(claimsFile, 'utf8'))).toEqual({ version: 1, name: other.name, images: [other.disk1], identities: [identityOf(other.disk1)], macs: [otherMac], ips: [] });
    for (const damage of [() => writeFileSync(claimsFile, '{"version":1,"na'), () => writeFileSync(claimsFile, ''), () => rmSync(claimsFile)]) {
      damage();
      expectRefused(['boot', sameImage], 1, new RegExp(`image .* is in use by subhost ${other.name}`));
      expectRefused(['boot', sameMac], 1, new RegExp(`MAC ${otherMac} is already used by subhost ${other.name}`));
    }
  });

  it('leaves no runtime folder when /run is full: whichever of its files cannot be made, NAME stays stopped', () => {
    // A tmpfs with room for n inodes as SUBHOST_RUN: boot fails at each of its writes in turn (the
    // locks, NAME's folder, claims.json, state.json, the console, the last record: PID 1 runs then,
    // and is released) until it has room enough.
    const name = good.name;
    let booted = false;
    for (let n = 3; n <= 20 && !booted; n++) {
      const dir = join(root, `run-${n}`);
      mkdirSync(dir);
      execFileSync('mount', ['-t', 'tmpfs', '-o', `nr_inodes=${n},size=1m,mode=0700`, `${PREFIX}run`, dir]);
      try {
        const env = { SUBHOST_RUN: join(dir, 'subhost') };
        const r = cli(['boot', name], { root, env });
        if (r.code === 0) {
          booted = true;
          const fill = () => {
            for (let i = 0; ; i++) {
              try {
                writeFileSync(join(dir, `filler-${i}`), '');
              } catch {
                return i;
              }
            }
          };
          // Full again: poweroff, then stop (booted again once there is room), cannot write their
          // mark, and release NAME all the same.
          fill();
          expect(cli(['poweroff', name], { root, env })).toMatchObject({ code: 0, stderr: '' });
          // Room again (its console log now takes an inode of its own), to boot it for stop.
          for (const f of readdirSync(dir).filter((e) => e.startsWith('filler-'))) rmSync(join(dir, f));
          execFileSync('mount', ['-o', `remount,nr_inodes=${n + 10}`, dir]);
          expect(cli(['boot', name], { root, env })).toMatchObject({ code: 0, stderr: '' });
          fill();
          expect(cli(['stop', name], { root, env })).toMatchObject({ code: 0, stderr: '' });
        } else {
          // One line: what could not be written (or, once the record is, the step that failed for want of room).
          expect(r.stderr).toMatch(/^subhost: [^\n]+\n$/);
          if (!existsSync(join(dir, 'subhost', '.logs'))) expect(r.stderr).toMatch(/no space left on device/i);
          expect(r.code).toBe(1);
        }
        // No folder of NAME's (it would make NAME `failed`): only the host-wide .locks (and .logs, where the console log is kept).
        expect(readdirSync(join(dir, 'subhost')).filter((e) => !['.locks', '.logs'].includes(e)), `with ${n} inodes`).toEqual([]);
        expect(cli(['status', name], { root, env }).stdout).toMatch(/stopped/);
      } finally {
        execFileSync('umount', [dir]);
      }
    }
    expect(booted).toBe(true);
  });

  it("says in one line what a full /run refused, for start too (it printed an internal error's stack)", () => {
    for (let n = 3; n <= 8; n++) {
      const dir = join(root, `run-start-${n}`);
      mkdirSync(dir);
      execFileSync('mount', ['-t', 'tmpfs', '-o', `nr_inodes=${n},size=1m,mode=0700`, `${PREFIX}run`, dir]);
      try {
        const env = { SUBHOST_RUN: join(dir, 'subhost') };
        const r = cli(['start', good.name], { root, env, input: 'true\n' });
        expect(r.stderr, `with ${n} inodes`).toMatch(/^subhost: [^\n]*no space left on device[^\n]*\n$/i);
        expect(r.code).toBe(1);
        expect(readdirSync(join(dir, 'subhost')).filter((e) => !['.locks', '.logs'].includes(e)), `with ${n} inodes`).toEqual([]);
      } finally {
        execFileSync('umount', [dir]);
      }
    }
  });

  it('refuses a subhost that does not exist', () => {
    expectRefused(['boot', `${PREFIX}nosuch`], 1, new RegExp(`no subhost ${PREFIX}nosuch: .* does not exist and no config was given`));
  });

  it('exits 2 for bad usage', () => {
    expectRefused(['boot'], 2, /missing required argument 'name'/);
    expectRefused(['boot', good.name, '--bogus'], 2, /unknown option '--bogus'/);
    expectRefused(['frobnicate'], 2, /unknown command 'frobnicate'/);
    expectRefused(['poweroff', good.name, '--timeout', 'soon'], 2, /expected a number of seconds/);
  });
});
