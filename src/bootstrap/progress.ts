import type { ProgressMode } from './options';

/** One step of a bootstrap: a phase, and where it is in it (packages, bytes). */
export interface ProgressEvent {
  phase: 'prepare' | 'download' | 'install' | 'configure' | 'image' | 'check' | 'done';
  /** What is happening, for people. */
  step: string;
  done?: number;
  total?: number;
  /** download: bytes fetched so far. */
  bytes?: number;
}

export interface Progress {
  report(e: ProgressEvent): void;
  stop(): void;
}

/** --progress json: one object a line on stdout, for scripts. */
class JsonProgress implements Progress {
  report(e: ProgressEvent): void {
    process.stdout.write(JSON.stringify(e) + '\n');
  }
  stop(): void {}
}

/** Not a terminal: a plain line on stderr when the step changes (never a line per package). */
class PlainProgress implements Progress {
  private last = '';
  constructor(private readonly name: string) {}
  report(e: ProgressEvent): void {
    const line = `${this.name}: ${e.step}${e.total ? (e.bytes !== undefined ? ` (${(e.total / 1048576).toFixed(1)} MiB)` : ` (${e.total} packages)`) : ''}`;
    if (line === this.last) return;
    this.last = line;
    process.stderr.write(line + '\n');
  }
  stop(): void {}
}

/** A terminal: a bar with the step and the package count (cli-progress, loaded only here). */
class BarProgress implements Progress {
  private bar: import('cli-progress').SingleBar;
  private started = false;
  constructor(name: string) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { SingleBar, Presets } = require('cli-progress') as typeof import('cli-progress');
    this.bar = new SingleBar({ format: `${name} {bar} {percentage}% | {step} {count}`, stream: process.stderr, hideCursor: true, clearOnComplete: false }, Presets.shades_classic);
  }
  report(e: ProgressEvent): void {
    const total = e.total ?? 1;
    const value = e.total ? (e.done ?? 0) : e.phase === 'done' ? 1 : 0;
    const count = e.total && e.phase !== 'download' ? `${e.done ?? 0}/${e.total}` : e.bytes ? `${(e.bytes / 1048576).toFixed(1)} MiB` : '';
    if (!this.started) {
      this.bar.start(total, value, { step: e.step, count });
      this.started = true;
    } else {
      this.bar.setTotal(total);
      this.bar.update(value, { step: e.step, count });
    }
  }
  stop(): void {
    if (this.started) this.bar.stop();
  }
}

class NoProgress implements Progress {
  report(): void {}
  stop(): void {}
}

export function makeProgress(mode: ProgressMode, name: string): Progress {
  if (mode === 'json') return new JsonProgress();
  if (mode === 'none') return new NoProgress();
  if (mode === 'plain' || !process.stderr.isTTY) return new PlainProgress(name);
  return new BarProgress(name);
}
