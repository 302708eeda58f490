import type { Server } from 'node:http';
import { readFileSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Runtime } from '../core/state/runtime';
import { SubhostError } from '../errors';
import { gapLimitSeconds } from '../history/rollup';
import { HistoryStore } from '../history/store';
import { boundPort, startHttp, stopHttp } from './http';
import { lockDaemon, removeDaemonState, writeDaemonState } from './lock';
import { newCounters } from './metrics';
import { ReleaseWatcher } from './release-watch';
import { buildRoutes, type DaemonContext } from './routes';
import { addWebRoutes } from '../web/routes';
import { Sampler } from './sampler';
import { HeldFiles } from '../core/usage/files';
import { VmWatcher } from './vm-watch';
import { optionalAddon } from '../host/bpf-addon';
import { DAEMON_V8_FLAGS, execWithDaemonFlags } from './v8-flags';

export interface DaemonOptions {
  host: string;
  port: number;
  intervalSeconds: number;
  db: string;
  hostname?: string;
  /** Tests only (SUBHOST_DAEMON_VM_PREFIX): place and remove only VMs whose -name starts with this. */
  vmPrefix?: string;
}

/** The listener's tick: doubtful subhosts (and without the proc connector, new PIDs) looked at this often (VMs placed within 2 s). */
const TICK_MS = 1000;
/** Every this many ticks: every subhost record and vm/ cgroup looked at. */
const FULL_EVERY = 10;
/** Without the proc connector, every this many ticks: every PID (a long-running process that exec'd qemu late). */
const ALL_PIDS_EVERY = 30;
const PRUNE_MS = 3600_000;

/** A sample that left this much more heap than the last collection did is followed by one. */
const GC_AFTER_GROWTH = 1024 * 1024;

/**
 * V8's gc(), for a collection after a sample that left garbage: its garbage (the text of some
 * thousand cgroup files; 1.1-1.3 MiB at 500 cgroups) would otherwise sit in a young generation
 * that grows to tens of MiB before V8 collects. A sample that left little (few cgroups) is not
 * worth one: a full collection costs some 25 ms of CPU even with nothing to free.
 */
function gcAfterSample(): () => void {
  try {
    // And a young generation that stays at its first size (V8 reads this flag as it grows it): 25 MiB less RSS at 500 cgroups.
    setFlagsFromString('--semi-space-growth-factor=1');
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as (o?: object) => void;
    const trim = trimmer();
    const used = () => getHeapStatistics().used_heap_size;
    let after = used();
    return () => {
      if (used() - after < GC_AFTER_GROWTH) return;
      gc();
      trim();
      after = used();
    };
  } catch {
    return () => {};
  }
}

/** The addon's malloc_trim where it has one: 2 MiB less RSS at 500 cgroups (the C heap's free pages after SQLite and /metrics). */
function trimmer(): () => void {
  const a = optionalAddon();
  return typeof a?.mallocTrim === 'function' ? () => void a.mallocTrim!() : () => {};
}

/**
 * Once the start is done: the pages of node's binary (and libraries) that start-up alone touched
 * leave RSS (the daemon's file RSS 41 -> 8 MiB here); the page cache keeps them, and what the daemon goes on using faults back
 * from it. Returns the log line, or undefined where the addon cannot.
 */
function releaseStartPages(): string | undefined {
  const a = optionalAddon();
  if (typeof a?.releaseFilePages !== 'function') return undefined;
  const before = rssFileKiB();
  a.releaseFilePages();
  return `daemon: start-up's pages of read-only program files released (file RSS ${Math.round(before / 1024)} -> ${Math.round(rssFileKiB() / 1024)} MiB)`;
}

const rssFileKiB = () => Number(/^RssFile:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'latin1'))?.[1] ?? 0);

/** Log lines on stderr; under systemd the journal adds the time itself. */
export function daemonLog(env: NodeJS.ProcessEnv): (line: string) => void {
  const journal = !!env.JOURNAL_STREAM;
  return (line) => process.stderr.write(journal ? `${line}\n` : `${new Date().toISOString()} ${line}\n`);
}

/**
 * `subhost daemon`: one per host (a lock under SUBHOST_RUN). Samples usage into the history,
 * places VMs, releases abandoned subhosts, serves HTTP; returns 0 after SIGTERM or SIGINT, once
 * the write in flight is done and the database closed.
 */
export async function runDaemon(rt: Runtime, o: DaemonOptions, log = daemonLog(rt.env)): Promise<number> {
  // Before anything is open or written: on success this process starts again under the flags.
  const noFlags = execWithDaemonFlags(rt.env);
  // Handled from the start: a signal while the daemon starts (the first sample, the connector's ack) stops it as cleanly as later.
  const signalled = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  const lock = await lockDaemon(rt.paths);
  const host = o.hostname ?? osHostname();
  let store: HistoryStore | undefined;
  let server: Server | undefined;
  const timers: NodeJS.Timeout[] = [];
  let sampleTimer: NodeJS.Timeout | undefined;
  let vms: VmWatcher | undefined;
  let releases: ReleaseWatcher | undefined;
  // The cgroup files the samples keep open between them.
  const files = new HeldFiles();
  try {
    store = HistoryStore.open(o.db, { maxGapSeconds: gapLimitSeconds(o.intervalSeconds) });
    const counters = newCounters();
    const sampler = new Sampler(rt, store, host, counters, log, files);
    vms = new VmWatcher({ cgroupMount: rt.cgroupMount, namePrefix: o.vmPrefix, log, counters });
    releases = new ReleaseWatcher(rt, { log, counters });
    const ctx: DaemonContext = { rt, host, store, counters, intervalSeconds: o.intervalSeconds, latest: () => sampler.latest };
    try {
      server = await startHttp(addWebRoutes(buildRoutes(ctx)), { host: o.host, port: o.port, log });
    } catch (err) {
      throw new SubhostError(`daemon: cannot listen on ${o.host}:${o.port}: ${(err as Error).message}`);
    }
    const listen = `${o.host.includes(':') ? `[${o.host}]` : o.host}:${boundPort(server)}`;
    writeDaemonState(rt.paths, { listen, db: o.db, startedAt: new Date().toISOString() });
    log(`daemon: pid ${process.pid} on http://${listen}, history in ${o.db} every ${o.intervalSeconds} s${o.vmPrefix ? `, VMs named ${o.vmPrefix}* only` : ''}`);
    log(noFlags ? `daemon: without its V8 flags (${noFlags})` : `daemon: V8 flags ${DAEMON_V8_FLAGS.join(' ')}`);

    const pruned = store.prune();
    if (pruned.samples + pruned.hourly + pruned.daily) log(`history: pruned ${pruned.samples} samples, ${pruned.hourly} hourly and ${pruned.daily} daily rows`);
    log(await vms.start(rt.env.SUBHOST_DAEMON_PROC_SCAN === '1'));
    vms.sweep();
    releases.tick(true);
    sampler.sample();
    const released = releaseStartPages();
    if (released) log(released);

    let ticks = 0;
    const tick = () => {
      ticks += 1;
      const full = ticks % FULL_EVERY === 0;
      if (vms!.mode === 'scan') void vms!.scan(ticks % ALL_PIDS_EVERY === 0);
      releases!.tick(full);
      if (full) vms!.sweep();
    };
    timers.push(setInterval(tick, TICK_MS));
    // Samples on multiples of the interval, so two daemons' histories line up.
    const every = o.intervalSeconds * 1000;
    const gc = gcAfterSample();
    const schedule = () => {
      sampleTimer = setTimeout(() => (sampler.sample(), gc(), schedule()), every - (Date.now() % every));
    };
    schedule();
    timers.push(
      setInterval(() => {
        const n = store!.prune();
        if (n.samples + n.hourly + n.daily) log(`history: pruned ${n.samples} samples, ${n.hourly} hourly and ${n.daily} daily rows`);
      }, PRUNE_MS),
    );

    const signal = await signalled;
    log(`daemon: ${signal}: stopping`);
    return 0;
  } finally {
    // The sample is synchronous: a signal is handled between samples, never inside one's write.
    for (const t of [...timers, sampleTimer]) clearTimeout(t);
    vms?.close();
    if (server) await stopHttp(server);
    await releases?.drain();
    releases?.close();
    files.close();
    store?.close();
    removeDaemonState(rt.paths);
    lock.release();
  }
}
