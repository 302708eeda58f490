import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configText } from '../../src/bootstrap/config-text';
import { progressParser } from '../../src/bootstrap/debian';
import { interfacesFile } from '../../src/bootstrap/guest-files';
import { parseSources, pickMirror } from '../../src/bootstrap/mirror';
import { parseRequest } from '../../src/bootstrap/options';
import type { ProgressEvent } from '../../src/bootstrap/progress';
import { parseStagingName, stagingName } from '../../src/bootstrap/staging';
import { readConfigFile } from '../../src/core/config/load';
import { validateConfig } from '../../src/core/config/validate';

describe('bootstrap options', () => {
  const bad = (flags: object, re: RegExp) => {
    let err: any;
    try {
      parseRequest('web1', flags);
    } catch (e) {
      err = e;
    }
    expect(err?.exitCode, String(err)).toBe(2);
    expect(err.message).toMatch(re);
    expect(err.message).not.toContain('\n');
  };

  it('defaults to a 2G disk, DHCP, the name as host name', () => {
    const r = parseRequest('web1', { from: 'busybox' });
    expect(r.layout).toEqual({ kind: 'disk', bytes: 2 * 1024 ** 3 });
    expect(r.hostname).toBe('web1');
    expect(r.source).toEqual({ kind: 'busybox' });
    expect(parseRequest('web1', { from: 'debian' }).source).toEqual({ kind: 'debian', suite: 'bookworm' });
  });

  it('refuses bad sizes, suites, mirrors, addresses and combinations with exit 2 and one line', () => {
    bad({ from: 'busybox', disk: '1X' }, /--disk 1X: not a size/);
    bad({ from: 'busybox', disk: '4M' }, /--disk 4M: too small/);
    bad({ from: 'debian:nosuchsuite' }, /does not know the suite nosuchsuite/);
    bad({ from: 'ubuntu' }, /expected busybox or debian/);
    bad({ from: 'debian', mirror: 'deb.debian.org' }, /--mirror deb.debian.org: not a URL/);
    bad({ from: 'debian', mirror: 'ftp://x/debian' }, /http:\/\/, https:\/\/ or file:\/\//);
    bad({ from: 'busybox', mirror: 'http://x/debian' }, /--mirror: only with --from debian/);
    bad({ from: 'busybox', packages: 'cron' }, /--packages: only with --from debian/);
    bad({ from: 'debian', packages: 'cron,Bad_Name' }, /"Bad_Name" is not a Debian package name/);
    bad({ from: 'busybox', dir: true, disk: '1G' }, /choose one of/);
    bad({}, /--from is required/);
    bad({ from: 'busybox', base: '/' }, /--from busybox and --base: an overlay's root is BASE/);
    bad({ from: 'busybox', bridge: ['br0'], address: ['10.0.0.0/24'] }, /network address/);
    bad({ from: 'busybox', bridge: ['br0'], address: ['10.0.0.5'] }, /prefix length/);
    bad({ from: 'busybox', address: ['10.0.0.5/24'] }, /1 given for 0 --bridge/);
    bad({ from: 'busybox', bridge: ['br0:zz'] }, /MAC "zz" is malformed/);
    bad({ from: 'busybox', hostname: 'a..b' }, /not a valid host name/);
    bad({ from: 'busybox', progress: 'fancy' }, /--progress fancy/);
  });

  it('writes a commented config that bash reads back as the request says', async () => {
    const req = parseRequest('web1', { from: 'busybox', bridge: ['br0', 'br1:02:00:00:00:00:07'], address: ['10.0.0.5/24,10.0.0.1'], hostname: 'web1.example.org' });
    const text = configText(req);
    expect(text).toMatch(/^# subhost web1: made by `subhost bootstrap`/);
    expect(text).toContain('#MEMORY=2G');
    const dir = mkdtempSync('/tmp/subhost-unit-');
    try {
      writeFileSync(join(dir, 'config'), text);
      const cfg = validateConfig('web1', await readConfigFile(join(dir, 'config'), 'web1'), dir);
      expect(cfg.disks).toEqual([{ dev: 'vda', part: 1, image: join(dir, 'disk1.raw') }]);
      expect(cfg.bridges.map((b) => b.bridge)).toEqual(['br0', 'br1']);
      expect(cfg.addresses).toEqual([{ cidr: '10.0.0.5/24', ip: '10.0.0.5', prefix: 24 }, undefined]);
      expect(cfg.hostname).toBe('web1.example.org');
      expect(cfg.autostart).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(interfacesFile(req, 'ifupdown')).toContain('iface eth0 inet static\n\taddress 10.0.0.5/24\n\tgateway 10.0.0.1\n\nauto eth1\niface eth1 inet dhcp');
  });

  it('finds the Debian mirror in one-line and deb822 sources, never security or a third party', () => {
    const deb822 = parseSources('Types: deb\nURIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\nComponents: main\n\nTypes: deb\n# a comment\nURIs: http://mirror.example/debian/\nSuites: bookworm bookworm-updates\nComponents: main contrib\n', true);
    expect(pickMirror(deb822)).toBe('http://mirror.example/debian');
    const list = parseSources('deb https://packages.cloud.google.com/apt cloud-sdk-bookworm main\n# deb http://old/debian bookworm main\ndeb [arch=amd64] http://ftp.de.debian.org/debian trixie main\n', false);
    expect(pickMirror(list)).toBe('http://ftp.de.debian.org/debian');
    expect(pickMirror([])).toBeUndefined();
  });

  it('names staging folders by owner, so a killed one is recognised', () => {
    const n = stagingName('web1', { pid: 42, start: 777 });
    expect(parseStagingName(n)).toEqual({ name: 'web1', owner: { pid: 42, start: 777 } });
    expect(parseStagingName(`${n}.removing`)?.name).toBe('web1');
    expect(parseStagingName('web1')).toBeUndefined();
  });

  it("turns debootstrap's installer messages into progress events", () => {
    const got: ProgressEvent[] = [];
    const feed = progressParser((e) => got.push(e), (n) => (n === 'UNPACKREQ' ? 'install' : 'download'));
    for (const l of ['P: 0 100 DOWNREL', 'PF: Downloading Release file', 'P: 0 5000 DOWNDEBS', 'PF: Downloading packages', 'P: 2500 5000', 'P: 3 40 UNPACKREQ', 'PF: Unpacking required packages']) feed(l);
    expect(got).toEqual([
      { phase: 'download', step: 'Downloading Release file' },
      { phase: 'download', step: 'Downloading packages', done: 0, total: 5000, bytes: 0 },
      { phase: 'download', step: 'Downloading packages', done: 2500, total: 5000, bytes: 2500 },
      { phase: 'install', step: 'Unpacking required packages', done: 3, total: 40 },
    ]);
  });
});
