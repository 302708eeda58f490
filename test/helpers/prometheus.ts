import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { waitFor } from './env';

/** A free TCP port on loopback (the kernel picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface TestPrometheus {
  url: string;
  proc: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Debian's prometheus, run by the test (never the system service): loopback only, its own config
 * and storage under dir (a test root, in its environment too, so the leak check finds it), 1-s scrapes.
 */
export async function startPrometheus(dir: string, targets: string[]): Promise<TestPrometheus> {
  const port = await freePort();
  mkdirSync(join(dir, 'tsdb'), { recursive: true });
  const config = join(dir, 'prometheus.yml');
  writeFileSync(config, `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: subhost\n    static_configs:\n      - targets: [${targets.map((t) => `'${t}'`).join(', ')}]\n`);
  const proc = spawn(
    '/usr/bin/prometheus',
    [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { env: { PATH: process.env.PATH, LC_ALL: 'C', SUBHOST_ROOT: dir }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  proc.stderr!.on('data', (b) => (stderr += b));
  const url = `http://127.0.0.1:${port}`;
  const stop = () =>
    new Promise<void>((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
      proc.once('exit', () => resolve());
      proc.kill('SIGTERM');
      setTimeout(() => proc.kill('SIGKILL'), 10_000).unref();
    });
  try {
    await waitFor(`prometheus on ${url} (${stderr})`, async () => {
      if (proc.exitCode !== null) throw new Error(`prometheus exited ${proc.exitCode}: ${stderr}`);
      return fetch(`${url}/-/ready`).then((r) => r.ok, () => false);
    }, 60_000, 200);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, proc, stop };
}

/** Values of an instant query, for waiting until Prometheus has scraped enough. */
export async function instant(url: string, query: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const r = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(query)}`);
  const body = (await r.json()) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  return body.data.result;
}
