import { performance } from 'node:perf_hooks';
import { collectUsage } from '../core/usage/collect';
import type { HeldFiles } from '../core/usage/files';
import type { UsageTarget } from '../core/usage/read';
import type { UsageRecord } from '../core/usage/record';
import type { Runtime } from '../core/state/runtime';
import { crashPoint } from '../test-hooks';
import type { HistoryStore } from '../history/store';
import type { DaemonCounters } from './metrics';

/** Every interval: the records of `usage --json`, with the daemon's host name, into the history. */
export class Sampler {
  /** The last sample's records: what /metrics and /api/v1/subhosts show. */
  latest: UsageRecord[] = [];
  /** The cgroups read, kept from one sample to the next (the same objects while they are there). */
  private readonly targets = new Map<string, UsageTarget>();

  constructor(
    private readonly rt: Runtime,
    private readonly store: HistoryStore,
    private readonly host: string,
    private readonly counters: DaemonCounters,
    private readonly log: (line: string) => void,
    /** The cgroup files, open from one sample to the next (re-read with pread); the owner closes them. */
    private readonly files: HeldFiles,
  ) {}

  sample(): void {
    const t0 = performance.now();
    try {
      let records: UsageRecord[];
      try {
        records = collectUsage(this.rt, [], this.files, this.targets);
      } finally {
        this.files.sweep();
      }
      for (const r of records) r.host = this.host;
      const n = this.counters.samples + 1;
      this.store.insert(records, undefined, () => crashPoint(this.rt.env, `daemon:insert:${n}`));
      this.latest = records;
      this.counters.samples = n;
      this.counters.lastSampleTime = records.length ? Date.parse(records[0].time) / 1000 : Date.now() / 1000;
    } catch (err) {
      this.counters.sampleErrors += 1;
      this.log(`sample: failed: ${(err as Error).message}`);
    }
    this.counters.lastSampleSeconds = (performance.now() - t0) / 1000;
  }
}
