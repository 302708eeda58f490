import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRICS } from '../../src/core/usage/metrics';
import { DAEMON_METRICS } from '../../src/daemon/metrics';
import { findCgroup2Mount } from '../../src/host/cgroupfs';
import { isAlive, procRef, readStat } from '../../src/host/proc';
import { isVmProcess } from '../../src/core/vms/vm-process';
import { cli, ok } from '../helpers/cli';
import { daemonEnv, startDaemon, type TestDaemon } from '../helpers/daemon';
import { makeTestRoot, PREFIX, removeTestRoot, sleep, testName, waitFor } from '../helpers/env';
import { createDiskSubhost } from '../helpers/fixtures';
import { cgroup2Of as cgroupOf } from '../helpers/procs';

const QEMU = ['-S', '-display', 'none', '-nodefaults', '-m', '16', '-accel', 'tcg'];
const mount = findCgroup2Mount();

describe('subhost daemon', () => {
  const root = makeTestRoot();
  const run = join(root, 'run');
  const db = join(root, 'history.sqlite');
  const env = daemonEnv({ root, run });
  const qemus: ChildProcess[] = [];
  let d: TestDaemon;

  /** A qemu, once it runs (`comm`: once it has renamed itself to that). */
  const qemu = async (name: string, nameArg = name, comm?: string) => {
    const child = spawn('qemu-system-x86_64', ['-name', nameArg, ...QEMU], { stdio: 'ignore' });
    qemus.push(child);
    const running = (c: string) => (comm ? c === comm : isVmProcess(undefined, c));
    await waitFor(`qemu ${name} to run`, () => child.pid && running(readStat(child.pid)?.comm ?? ''));
    return child;
  };
  const killQemu = async (q: ChildProcess) => {
    if (q.exitCode === null && q.signalCode === null) q.kill('SIGKILL');
    await waitFor('qemu to end', () => q.exitCode !== null || q.signalCode !== null);
  };

  beforeAll(async () => {
    mkdirSync(run, { recursive: true });
    d = await startDaemon({ root, run, db });
  });

  afterAll(async () => {
    for (const q of qemus) await killQemu(q);
    if (d) await d.stop();
    for (const n of readdirSync(run).filter((n) => n.startsWith(PREFIX))) cli(['stop', n], { root, env });
    removeTestRoot(root);
  });

  it('finds new processes through the netlink proc connector on this host, and says so once at start', async () => {
    await waitFor('its start line', () => d.stderr().includes('vm: new processes'));
    expect(d.stderr().match(/vm: new processes.*/g)).toEqual(['vm: new processes from the netlink proc connector (exec events)']);
  });

  it('runs under its V8 flags, restarted in place by execv (the same PID), and says so', async () => {
    await waitFor('its flags line', () => d.stderr().includes('daemon: V8 flags'));
    expect(d.stderr()).toContain('daemon: V8 flags --single-threaded --no-opt\n');
    // d.pid is the process the test spawned: the same one now runs node with the flags.
    expect(readFileSync(`/proc/${d.pid}/cmdline`, 'utf8').split('\0')).toEqual(expect.arrayContaining([process.execPath, '--single-threaded', '--no-opt', 'daemon']));
  });

  it("gives back the start-up's pages of node's binary once started: less file RSS than a node that only started", async () => {
    await waitFor('its pages line', () => d.stderr().includes("daemon: start-up's pages"));
    expect(d.stderr()).toMatch(/daemon: start-up's pages of read-only program files released \(file RSS \d+ -> \d+ MiB\)\n/);
    const rssFile = (status: string) => Number(/^RssFile:\s+(\d+)/m.exec(status)![1]);
    const fresh = spawnSync(process.execPath, ['-e', "process.stdout.write(require('fs').readFileSync('/proc/self/status', 'latin1'))"], { encoding: 'utf8' }).stdout;
    expect(rssFile(readFileSync(`/proc/${d.pid}/status`, 'latin1'))).toBeLessThan(rssFile(fresh));
  });

  it('is one per host: a second one exits 1 naming the first one\'s PID', () => {
    const r = cli(['daemon', '--listen', '127.0.0.1:0', '--db', join(root, 'other.sqlite')], { env });
    expect(r.stderr).toBe(`subhost: daemon: another daemon is running on this host (pid ${d.pid})\n`);
    expect(r.code).toBe(1);
    expect(existsSync(join(root, 'other.sqlite'))).toBe(false);
  });

  it('refuses bad options in one line, exit 2', () => {
    for (const [args, msg] of [
      [['--listen', 'localhost'], /^subhost: daemon: --listen "localhost": use ADDR:PORT/],
      [['--listen', '127.0.0.1:70000'], /^subhost: daemon: --listen "127.0.0.1:70000"/],
      [['--interval', '0'], /^subhost: daemon: --interval must be more than 0 seconds\n$/],
      [['--interval', 'often'], /^subhost: option '--interval <seconds>' argument 'often' is invalid/],
    ] as [string[], RegExp][]) {
      const r = cli(['daemon', ...args], { env: { ...env, SUBHOST_RUN: join(root, 'run-bad') } });
      expect(r.stderr).toMatch(msg);
      expect(r.stderr.split('\n').length).toBe(2);
      expect(r.code).toBe(2);
    }
  });

  it('serves /metrics that promtool accepts: the usage table and the daemon\'s own, with the host label', async () => {
    await waitFor('a sample', async () => /subhost_daemon_samples_total\{host="[^"]+"\} [1-9]/.test((await d.get('/metrics')).body));
    const m = await d.get('/metrics');
    expect(m.status).toBe(200);
    expect(m.type).toMatch(/^text\/plain; version=0\.0\.4/);
    for (const def of METRICS) expect(m.body).toContain(`# TYPE ${def.name} ${def.type}\n`);
    // The daemon's own: samples taken, sample duration, VM moves, releases (SPEC 4.1), each with the host label.
    for (const def of DAEMON_METRICS) expect(m.body).toMatch(new RegExp(`^# TYPE ${def.name} ${def.type}\n${def.name}\\{host="[^"]+"[,}]`, 'm'));
    expect(m.body).toMatch(/^subhost_info\{host="[^"]+",version="[^"]+"\} 1$/m);
    expect(m.body).not.toMatch(/job=|instance=/);
    const check = spawnSync('promtool', ['check', 'metrics'], { input: m.body, encoding: 'utf8' });
    expect(check.stdout + check.stderr).toBe('');
    expect(check.status).toBe(0);
  });

  it('answers bad requests with 400 and a JSON error, and changes nothing', async () => {
    for (const q of ['since=yesterday', 'since=2026-02-31', 'step=0', 'step=fast', 'kind=pod', 'since=1h&until=2h', 'colour=red', 'since=4w&step=1']) {
      const r = await d.get(`/api/v1/history?${q}`);
      expect(r.status, q).toBe(400);
      expect(r.type).toMatch(/^application\/json/);
      expect(Object.keys(JSON.parse(r.body))).toEqual(['error']);
    }
    expect((await d.get('/nothing')).status).toBe(404);
    const post = await fetch(`http://${d.listen}/api/v1/history`, { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
  });

  it('moves a qemu started after it into vm/NAME within 2 s, moves no other VM, and removes the cgroup when it ends', async () => {
    const name = `${PREFIX}dq${process.pid % 1000}`;
    // Not this test's prefix: another test run's VM, which this daemon must leave where it is.
    const other = `x${PREFIX}dq${process.pid % 1000}`;
    const otherQ = await qemu(other);
    const otherFrom = cgroupOf(otherQ.pid!);
    const q = await qemu(name);
    await waitFor(`qemu ${name} in vm/${name}`, () => cgroupOf(q.pid!) === `/vm/${name}`, 2000, 20);
    // The line is written after the move: the pipe may bring it a moment after the cgroup changed.
    await waitFor('its log line', () => d.stderr().includes(`vm: moved qemu-system-x86_64 PID ${q.pid} (-name ${name})`), 2000);
    await sleep(1500);
    expect(cgroupOf(otherQ.pid!)).toBe(otherFrom);
    const moved = [...d.stderr().matchAll(/vm: moved \S+ PID (\d+)/g)].map((m) => Number(m[1]));
    expect(moved).toEqual([q.pid]);
    const api = JSON.parse((await d.get('/api/v1/subhosts')).body);
    expect(api.host).toBeTruthy();
    // Its latest usage, once a sample has seen it in vm/NAME.
    const vm = await waitFor(`${name} in /api/v1/subhosts`, async () => JSON.parse((await d.get('/api/v1/subhosts')).body).vms.find((v: { name: string }) => v.name === name), 5000);
    expect(vm).toMatchObject({ name, cgroup: expect.stringMatching(new RegExp(`/vm/${name}$`)), usage: { kind: 'vm', name, host: api.host } });
    await killQemu(q);
    await killQemu(otherQ);
    await waitFor(`vm/${name} removed`, () => !existsSync(join(mount, 'vm', name)), 5000);
    await waitFor('its log line', () => d.stderr().includes(`vm: removed empty cgroup vm/${name}`), 2000);
  });

  it('finds a VM by its executable when -name ...,process= renamed it at once (libvirt, Ganeti)', async () => {
    const name = `${PREFIX}dp${process.pid % 1000}`;
    // Its comm is no VM executable's name: only its executable tells (the daemon may still have caught it before the rename).
    const q = await qemu(name, `guest=${name},process=${PREFIX}proc`, `${PREFIX}proc`);
    await waitFor(`qemu ${name} in vm/${name}`, () => cgroupOf(q.pid!) === `/vm/${name}`, 2000, 20);
    await killQemu(q);
    await waitFor(`vm/${name} removed`, () => !existsSync(join(mount, 'vm', name)), 5000);
  });

  it('releases a booted subhost whose supervisor and PID 1 were SIGKILLed, within 5 s, leaving nothing', async () => {
    const sub = await createDiskSubhost(root, testName('dr'), { dataDisk: false });
    ok(['boot', sub.name], { root, env });
    const st = JSON.parse(ok(['status', sub.name, '--json'], { root, env }).stdout);
    const sup = procRef(st.supervisor)!;
    const pid1 = procRef(st.pid1)!;
    process.kill(sup.pid, 'SIGKILL');
    await waitFor('the supervisor to die', () => !isAlive(sup));
    process.kill(pid1.pid, 'SIGKILL');
    await waitFor('PID 1 to die', () => !isAlive(pid1));
    await waitFor(`${sub.name} released`, () => !existsSync(join(run, sub.name)), 5000, 50);
    await waitFor('its released line', () => d.stderr().includes(`release: ${sub.name}: released\n`), 2000);
    expect(d.stderr()).toMatch(new RegExp(`release: ${sub.name}: abandoned \\(PID 1 ended and nothing released the subhost\\); releasing it as stop would\\n.*release: ${sub.name}: released\\n`));
    expect(JSON.parse(ok(['status', sub.name, '--json'], { root, env }).stdout).state).toBe('stopped');
    const cm = cli(['check-mounts', sub.name], { root, env });
    expect(cm.code, cm.stdout + cm.stderr).toBe(0);
    expect(existsSync(join(mount, 'subhost', sub.name))).toBe(false);
  });

  it('leaves a hibernated subhost alone', async () => {
    const sub = await createDiskSubhost(root, testName('dh'), { dataDisk: false });
    const r = cli(['start', sub.name], { root, env, input: 'true\n' });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(ok(['status', sub.name, '--json'], { root, env }).stdout).state).toBe('hibernated');
    // Two full looks of the daemon (every 10 ticks) and the one its changed record gets at once.
    await sleep(11_000);
    expect(JSON.parse(ok(['status', sub.name, '--json'], { root, env }).stdout).state).toBe('hibernated');
    expect(d.stderr()).not.toContain(`release: ${sub.name}`);
    // /api/v1/subhosts: the objects of `list --json`, each with its latest usage (uptime moves on between the two).
    const list = JSON.parse(ok(['list', '--json'], { root, env }).stdout) as Record<string, unknown>[];
    const api = JSON.parse((await d.get('/api/v1/subhosts')).body);
    const still = ({ uptimeSeconds: _u, usage: _s, ...o }: Record<string, unknown>) => o;
    expect(api.subhosts.map(still)).toEqual(list.map(still));
    for (const s of api.subhosts) expect(s.usage === null || (s.usage.kind === 'subhost' && s.usage.name === s.name)).toBe(true);
    ok(['stop', sub.name], { root, env });
  });

  it('stops on SIGINT as on SIGTERM: exit 0, database closed, lock and state file gone', async () => {
    expect(await d.stop('SIGINT')).toEqual({ code: 0, signal: null });
    expect(d.stderr()).toMatch(/daemon: SIGINT: stopping\n$/);
    // Closed: the last connection to a WAL database checkpoints it and removes the -wal file.
    expect(existsSync(db)).toBe(true);
    expect(existsSync(`${db}-wal`)).toBe(false);
    expect(existsSync(join(run, 'daemon.json'))).toBe(false);
    // The lock went with it: the next daemon starts.
    d = await startDaemon({ root, run, db });
  });

  it('places a qemu started after it within 2 s by the /proc scan where the proc connector is not used (SUBHOST_DAEMON_PROC_SCAN=1)', async () => {
    expect(await d.stop()).toEqual({ code: 0, signal: null });
    d = await startDaemon({ root, run, db, env: { SUBHOST_DAEMON_PROC_SCAN: '1' } });
    await waitFor('its start line', () => d.stderr().includes('vm: new processes'));
    expect(d.stderr().match(/vm: new processes.*/g)).toEqual(['vm: new processes by a /proc scan every tick (no proc connector: SUBHOST_DAEMON_PROC_SCAN=1)']);
    const name = `${PREFIX}ds${process.pid % 1000}`;
    const q = await qemu(name);
    await waitFor(`qemu ${name} in vm/${name}`, () => cgroupOf(q.pid!) === `/vm/${name}`, 2000, 20);
    await killQemu(q);
    await waitFor(`vm/${name} removed`, () => !existsSync(join(mount, 'vm', name)), 5000);
  });

  it('ships a systemd unit that systemd-analyze verify accepts', () => {
    const dir = join(root, 'units');
    mkdirSync(dir);
    const bin = join(__dirname, '../../bin/subhost');
    for (const u of ['subhost.service', 'subhost-autostart.service']) {
      writeFileSync(join(dir, u), readFileSync(join(__dirname, '../../share/systemd', u), 'utf8').replaceAll('/usr/local/bin/subhost', bin));
    }
    const r = spawnSync('systemd-analyze', ['verify', join(dir, 'subhost.service'), join(dir, 'subhost-autostart.service')], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
