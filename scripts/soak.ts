// Soak: many boot / power-off cycles of one subhost, by every power-off path, with zero leaks
// after each and no growth in the file descriptors or memory of the long-lived processes: a
// companion subhost kept running throughout (its supervisor and PID 1) and this process, which
// runs the leak judge (check-mounts' discovery) in-process every cycle, as a daemon would.
// Usage: npm run soak [-- --cycles 200]     (as root; prints a report; exit 1 on any failure)
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { findLeftovers } from '../src/core/inspect/leftovers';
import { Paths } from '../src/core/state/paths';
import { Runtime } from '../src/core/state/runtime';
import { readState } from '../src/core/state/records';
import { fdCount, isAlive, memoryOf } from '../src/host/proc';
import { cli, ok } from '../test/helpers/cli';
import { waitFor } from '../test/helpers/env';
import { createDiskSubhost } from '../test/helpers/fixtures';
import { findTestLeftovers, describeLeftovers } from '../test/helpers/leaks';
import { claimPrefix } from '../test/helpers/prefix-claims';

const RUN = '/run/subhost';
// Two prefixes: the cycling subhost's leak scan must not see the companion, which stays up.
const P = { cycle: 'sok', companion: 'skc' };
const rootPrefix = (p: string) => `/var/tmp/subhost-soak-${p}-`;

/** `--cycles N`, at least 2: growth is judged between two samples. */
function parseCycles(argv: string[]): number {
  if (argv.length === 0) return 200;
  const [flag, value] = argv;
  if (argv.length === 2 && flag === '--cycles' && /^\d+$/.test(value) && Number(value) >= 2) return Number(value);
  process.stderr.write(`soak: ${argv.join(' ')}: usage: soak [--cycles N], N a whole number of at least 2 (default 200)\n`);
  process.exit(2);
}
const cycles = parseCycles(process.argv.slice(2));
const WARMUP = Math.max(1, Math.min(20, Math.floor(cycles / 5)));

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const enter = (root: string, name: string, script: string) => cli(['enter', name, '--', '/bin/sh', '-c', script], { root, timeoutMs: 30_000 });

/** How the guest is powered off in cycle i: the operator's command and the guest's own paths. */
const METHODS = ['subhost poweroff', 'poweroff', 'poweroff -f', 'echo poweroff > /run/initctl', 'reboot, then subhost poweroff'] as const;

interface Sample {
  cycle: number;
  soak: { fds: number; heapKiB: number; rssKiB: number };
  supervisor: { fds: number; rssKiB: number };
  pid1: { fds: number; rssKiB: number };
}

async function main(): Promise<number> {
  // While the soak runs, its prefixes are claimed: a test run's sweep of killed runs leaves them alone.
  const claims = [await claimPrefix(P.cycle, 'soak'), await claimPrefix(P.companion, 'soak')];
  const roots = { cycle: mkdtempSync(rootPrefix(P.cycle)), companion: mkdtempSync(rootPrefix(P.companion)) };
  const name = `${P.cycle}${process.pid % 10000}`;
  const companion = `${P.companion}${process.pid % 10000}`;
  const rt = new Runtime(new Paths(roots.cycle, RUN), { PATH: process.env.PATH });
  const failures: string[] = [];
  const samples: Sample[] = [];
  const times = { boot: [] as number[], off: [] as number[] };
  try {
    await createDiskSubhost(roots.cycle, name, { hostname: 'soak' });
    await createDiskSubhost(roots.companion, companion, { hostname: 'companion' });
    ok(['boot', companion], { root: roots.companion });
    const comp = readState(new Paths(roots.companion, RUN), companion)!;
    const sample = (cycle: number): Sample => {
      gc();
      const m = process.memoryUsage();
      const kib = (pid: number) => Math.round((memoryOf(pid)?.rss ?? 0) / 1024);
      return {
        cycle,
        soak: { fds: fdCount('self'), heapKiB: Math.round(m.heapUsed / 1024), rssKiB: Math.round(m.rss / 1024) },
        supervisor: { fds: fdCount(comp.supervisor!.pid), rssKiB: kib(comp.supervisor!.pid) },
        pid1: { fds: fdCount(comp.pid1!.pid), rssKiB: kib(comp.pid1!.pid) },
      };
    };
    for (let i = 1; i <= cycles; i++) {
      const method = METHODS[i % METHODS.length];
      let t0 = Date.now();
      ok(['boot', name], { root: roots.cycle });
      await waitFor('rc 2', () => enter(roots.cycle, name, 'cat /run/rc.ran').stdout.trim() === '2', 15_000, 20);
      times.boot.push(Date.now() - t0);
      const { pid1, supervisor } = readState(rt.paths, name)!;
      t0 = Date.now();
      if (method === 'subhost poweroff') ok(['poweroff', name], { root: roots.cycle });
      else if (method.startsWith('reboot')) {
        const bootId = readState(rt.paths, name)!.bootId;
        enter(roots.cycle, name, 'reboot');
        await waitFor('the reboot', () => {
          const r = readState(rt.paths, name);
          return !!r && r.bootId !== bootId && r.phase === 'running' && !r.op && isAlive(r.pid1);
        }, 15_000, 20);
        ok(['poweroff', name], { root: roots.cycle });
      } else enter(roots.cycle, name, method);
      // Released: PID 1, the record and the supervisor (which became `_reap`) are gone.
      await waitFor('the release', () => !isAlive(pid1) && readState(rt.paths, name) === undefined && !isAlive(supervisor), 10_000, 20);
      times.off.push(Date.now() - t0);
      const judged = await findLeftovers(rt, { names: [name, companion] });
      const scanned = findTestLeftovers(RUN, P.cycle, rootPrefix(P.cycle));
      if (judged.length || scanned.length) {
        failures.push(`cycle ${i} (${method}): left behind:\n${judged.map((l) => `  ${l.kind} ${l.id}`).join('\n')}\n${describeLeftovers(scanned)}`);
        break;
      }
      if (!isAlive(comp.pid1) || !isAlive(comp.supervisor)) {
        failures.push(`cycle ${i}: the companion subhost died`);
        break;
      }
      if (i === WARMUP || i % 20 === 0 || i === cycles) samples.push(sample(i));
      if (i % 20 === 0) process.stdout.write(`soak: ${i}/${cycles} cycles, no leaks\n`);
    }
    // After an early break the failure is already said; growth is judged over a full run only.
    if (!failures.length) failures.push(...growth(samples));
    ok(['poweroff', companion], { root: roots.companion });
    const left = [...findTestLeftovers(RUN, P.cycle, rootPrefix(P.cycle)), ...findTestLeftovers(RUN, P.companion, rootPrefix(P.companion))];
    if (left.length) failures.push(`left at the end:\n${describeLeftovers(left)}`);
  } catch (err) {
    failures.push(String(err instanceof Error ? err.message : err));
  } finally {
    for (const [root, n] of [[roots.cycle, name], [roots.companion, companion]]) cli(['stop', n], { root });
    for (const r of Object.values(roots)) rmSync(r, { recursive: true, force: true });
    for (const n of [name, companion]) for (const f of [`.logs/${n}.log`, `.logs/${n}.log.1`, `.locks/${n}`]) rmSync(join(RUN, f), { force: true });
    for (const c of claims) c.release();
  }
  report(samples, times, cycles);
  for (const f of failures) process.stderr.write(`soak FAILED: ${f}\n`);
  return failures.length ? 1 : 0;
}

/** Growth from the first sample after warm-up to the last: fds must not grow at all, memory hardly. */
function growth(samples: Sample[]): string[] {
  if (samples.length < 2) return ['too few samples to judge growth'];
  const [a, b] = [samples[0], samples[samples.length - 1]];
  const out: string[] = [];
  const check = (what: string, from: number, to: number, allowed: number, unit: string) => {
    if (to - from > allowed) out.push(`${what} grew from ${from} to ${to} ${unit} (allowed: ${allowed})`);
  };
  check('open fds of the soak process', a.soak.fds, b.soak.fds, 0, '');
  check('open fds of the supervisor', a.supervisor.fds, b.supervisor.fds, 0, '');
  check('open fds of PID 1', a.pid1.fds, b.pid1.fds, 0, '');
  check('heap of the soak process after GC', a.soak.heapKiB, b.soak.heapKiB, 1024, 'KiB');
  check('RSS of the supervisor', a.supervisor.rssKiB, b.supervisor.rssKiB, 64, 'KiB');
  check('RSS of PID 1', a.pid1.rssKiB, b.pid1.rssKiB, 64, 'KiB');
  return out;
}

function report(samples: Sample[], times: { boot: number[]; off: number[] }, cycles: number): void {
  const stat = (xs: number[]) => (xs.length ? `median ${xs.slice().sort((x, y) => x - y)[Math.floor(xs.length / 2)]} ms, max ${Math.max(...xs)} ms` : '-');
  process.stdout.write(`soak: ${times.off.length}/${cycles} cycles (power off by: ${METHODS.join('; ')})\n`);
  process.stdout.write(`soak: boot to rc 2 ${stat(times.boot)}; power off to released ${stat(times.off)}\n`);
  process.stdout.write('cycle  soak fds/heap KiB/rss KiB  supervisor fds/rss KiB  PID 1 fds/rss KiB\n');
  for (const s of samples) {
    process.stdout.write(
      `${String(s.cycle).padStart(5)}  ${`${s.soak.fds}/${s.soak.heapKiB}/${s.soak.rssKiB}`.padEnd(24)}  ${`${s.supervisor.fds}/${s.supervisor.rssKiB}`.padEnd(22)}  ${s.pid1.fds}/${s.pid1.rssKiB}\n`,
    );
  }
}

main().then((code) => {
  process.exitCode = code;
});
