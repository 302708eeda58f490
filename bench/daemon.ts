import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Runtime } from '../src/core/state/runtime';
import { newCounters } from '../src/daemon/metrics';
import { Sampler } from '../src/daemon/sampler';
import { HeldFiles } from '../src/core/usage/files';
import { HistoryStore } from '../src/history/store';
import { startDaemon } from '../test/helpers/daemon';
import { SleepCgroups } from './cgroups';
import type { BenchWorld } from './fixture';
import { figure, type Figure } from './figures';
import { nowMs } from './stats';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const TICKS_PER_SECOND = 100;
/** How long the real daemon runs at 500 cgroups for its CPU figure (a sample every 10 s). */
const CPU_WINDOW_MS = 60_000;

function cpuSeconds(pid: number): number {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // After "(comm) ": state is field 3, utime 14 and stime 15.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / TICKS_PER_SECOND;
}

const statusMiB = (pid: number, key: string) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

/**
 * 5. The daemon: one sample (read usage + store it) at 10, 100 and 500 cgroups; then the real
 * daemon at 500 cgroups with its 10 s interval: its CPU, /metrics latency and RSS. Each cgroup
 * is subhost/PREFIXdNNN holding one sleep; the daemon gets its own run folder, database and root.
 */
export async function benchDaemon(w: BenchWorld, runs: number): Promise<Figure[]> {
  const dir = join(w.root, 'daemon');
  const run = join(dir, 'run');
  mkdirSync(run, { recursive: true });
  const env = { ...w.env, SUBHOST_RUN: run, SUBHOST_DAEMON_VM_PREFIX: w.prefix };
  const cgroups = new SleepCgroups(`${w.prefix}d`);
  const figures: Figure[] = [];
  try {
    const store = HistoryStore.open(join(dir, 'sample.sqlite'));
    const counters = newCounters();
    // As in the daemon: the cgroup files stay open from one sample to the next.
    const files = new HeldFiles();
    for (const count of [10, 100, 500]) {
      cgroups.growTo(count);
      const s = new Sampler(Runtime.fromEnv(env), store, 'bench', counters, () => {}, files);
      const times: number[] = [];
      const cpu: number[] = [];
      // Untimed: the first sample at a new count opens the new cgroups' files; the daemon's every later one reads them held.
      s.sample();
      for (let i = 0; i < Math.max(runs, 5); i++) {
        const c0 = process.cpuUsage();
        s.sample();
        const c = process.cpuUsage(c0);
        times.push(counters.lastSampleSeconds * 1000);
        cpu.push((c.user + c.system) / 1000);
        await sleep(20);
      }
      figures.push(figure(`daemon-sample-${count}`, `daemon: one sample (read + store), ${count} cgroups`, 'ms', times, count === 500 ? 50 : undefined));
      // CPU time of the same samples: what the sample costs, without the waits of a busy host.
      figures.push(figure(`daemon-sample-cpu-${count}`, `daemon: CPU time of one sample, ${count} cgroups`, 'ms', cpu));
    }
    files.close();
    store.close();

    const daemon = await startDaemon({ root: w.root, run, db: join(dir, 'daemon.sqlite'), interval: 10, env: { SUBHOST_DAEMON_VM_PREFIX: w.prefix } });
    try {
      const { listen } = daemon;
      // The window starts after the first sample (taken at start, once listening) and the start's own work.
      for (let i = 0; i < 200 && !/^subhost_daemon_samples_total\{[^}]*\} [1-9]/m.test((await daemon.get('/metrics')).body); i++) await sleep(100);
      await sleep(2000);
      const cpu0 = cpuSeconds(daemon.pid);
      const t0 = nowMs();
      await sleep(CPU_WINDOW_MS);
      const share = (cpuSeconds(daemon.pid) - cpu0) / ((nowMs() - t0) / 1000);
      figures.push(figure('daemon-cpu', 'daemon CPU, 500 cgroups, --interval 10 (of one core)', '%', [share * 100], 1, `${(share * 3600).toFixed(1)} CPU s per hour`));
      const lat: number[] = [];
      for (let i = 0; i < Math.max(runs, 10); i++) {
        const t = nowMs();
        const r = await fetch(`http://${listen}/metrics`);
        await r.text();
        lat.push(nowMs() - t);
      }
      figures.push(figure('daemon-metrics', 'daemon: GET /metrics, 500 cgroups', 'ms', lat, 50));
      figures.push(figure('daemon-rss', 'daemon RSS, 500 cgroups', 'MiB', [statusMiB(daemon.pid, 'VmRSS')], 60));
      // Of that RSS, the file pages (node's own binary, shared with every node process) and the rest.
      figures.push(figure('daemon-rss-anon', 'daemon RSS without file pages (RssAnon), 500 cgroups', 'MiB', [statusMiB(daemon.pid, 'RssAnon')]));
    } finally {
      await daemon.stop();
    }
  } finally {
    await cgroups.remove();
    rmSync(dir, { recursive: true, force: true });
  }
  return figures;
}
