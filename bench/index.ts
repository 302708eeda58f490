/**
 * `npm run bench [-- --out FILE] [--runs N] [--with-peers] [--only a,b] [--scale 0,50,200] [--compare DIR] [--v2-view]`: how fast subhost boots and
 * stops, what each running subhost costs the host, how it scales, and the floors the bare tools set; figures are medians with
 * min and max. It makes its own images, bridge and subhosts (PREFIX*: SUBHOST_BENCH_PREFIX, default bn), and
 * removes them.
 */
import { writeFileSync } from 'node:fs';
import { cpus, hostname, release } from 'node:os';
import { describeLeftovers, findTestLeftovers } from '../test/helpers/leaks';
import { BenchWorld } from './fixture';
import { figure, formatTable, type Figure } from './figures';
import { hostSideMemory } from './memory';
import { benchPeers } from './peers';
import { benchFloors } from './floors';
import { buildArgv, must, nodeStartEnv, subhostArgv } from './run';
import { benchBuilds, inTurn, perBuild, type Build } from './compare';
import { benchReport } from './report';
import { benchUsage } from './usage';
import { benchDaemon } from './daemon';
import { benchScale, SCALE_LEVELS } from './scale';
import { makeV2View, rerunInV2View } from './v2-view';

interface Options {
  out?: string;
  runs: number;
  withPeers: boolean;
  only?: Set<string>;
  scale: number[];
  /** Another checkout, built: measured in the same rounds as this one (single, scale, version). */
  compare?: string;
  /** On a hybrid host, subhost's figures as a pure cgroup v2 host would give them (bench/v2-view.ts). */
  v2View: boolean;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { runs: 15, withPeers: false, scale: SCALE_LEVELS, v2View: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--out') o.out = argv[++i];
    else if (a === '--runs') o.runs = Number(argv[++i]);
    else if (a === '--with-peers') o.withPeers = true;
    else if (a === '--only') o.only = new Set(argv[++i].split(','));
    else if (a === '--scale') o.scale = argv[++i].split(',').map(Number);
    else if (a === '--compare') o.compare = argv[++i];
    else if (a === '--v2-view') o.v2View = true;
    else throw new Error(`unknown argument ${a} (use --out FILE, --runs N, --with-peers, --only single,hundred,scale,usage,daemon,report,version,floors, --scale 0,50,200, --compare DIR, --v2-view)`);
  }
  // LXC's own cgroup set-up is made for the host's hierarchies, which the view hides.
  if (o.v2View && o.withPeers) throw new Error('--v2-view measures subhost only: leave out --with-peers');
  if (!Number.isInteger(o.runs) || o.runs < 1) throw new Error('--runs takes a whole number of at least 1');
  if (!o.scale.length || o.scale.some((n) => !Number.isInteger(n) || n < 0 || n > 800)) throw new Error('--scale takes levels 0..800, comma-separated');
  return o;
}

const MiB = 1024 * 1024;

/** 1. One disk-image subhost with one veth on a bridge: boot, stop, poweroff (each build in turn, with --compare). */
async function single(w: BenchWorld, runs: number, builds: Build[]): Promise<Figure[]> {
  const name = await w.makeSubhost(0);
  const m = perBuild(builds, ['boot', 'stop', 'poweroff', 'cycle'] as const);
  for (let i = 0; i < runs; i++) {
    for (const b of inTurn(builds, i)) {
      const x = m.get(b)!;
      const boot = must(buildArgv(b.bin, 'boot', name), w.env).ms;
      const stop = must(buildArgv(b.bin, 'stop', name), w.env).ms;
      x.boot.push(boot);
      x.stop.push(stop);
      x.cycle.push(boot + stop);
    }
  }
  for (let i = 0; i < runs; i++) {
    for (const b of inTurn(builds, i)) {
      must(buildArgv(b.bin, 'boot', name), w.env);
      m.get(b)!.poweroff.push(must(buildArgv(b.bin, 'poweroff', name), w.env).ms);
    }
  }
  const rows: ['boot' | 'stop' | 'poweroff' | 'cycle', string, number | undefined][] = [
    ['boot', '`subhost boot` (disk image, 1 veth), until PID 1 runs', 110],
    ['stop', '`subhost stop` of a running subhost', 70],
    ['poweroff', '`subhost poweroff` (guest shuts down, then release)', 150],
    ['cycle', '`subhost boot` + `subhost stop`, one cycle', undefined],
  ];
  return rows.flatMap(([id, label, target]) => builds.map((b) => figure(`${id}${b.suffix}`, label + b.note, 'ms', m.get(b)![id], b.suffix ? undefined : target)));
}

/** 2. 100 subhosts: sequential commands and one batch command; host-side memory of each. */
async function hundred(w: BenchWorld, runs: number): Promise<Figure[]> {
  const names: string[] = [];
  for (let i = 1; i <= 100; i++) names.push(await w.makeSubhost(i));
  const seq: number[] = [];
  const batch: number[] = [];
  const rss: number[] = [];
  const pss: number[] = [];
  const stopAll: number[] = [];
  const rounds = Math.max(1, Math.min(3, runs));
  for (let r = 0; r < rounds; r++) {
    let t = 0;
    for (const n of names) t += must(subhostArgv('boot', n), w.env).ms;
    seq.push(t / 1000);
    if (r === 0) {
      for (const n of names) {
        const m = hostSideMemory([n]);
        rss.push(m.rss / MiB);
        pss.push(m.pss / MiB);
      }
    }
    stopAll.push(must(subhostArgv('stop', '--parallel', '4', ...names), w.env).ms / 1000);
    batch.push(must(subhostArgv('boot', '--parallel', '4', ...names), w.env).ms / 1000);
    must(subhostArgv('stop', '--parallel', '4', ...names), w.env);
  }
  return [
    figure('boot100-seq', '100 subhosts booted, one `subhost boot` each', 's', seq, 11),
    figure('boot100-batch', '100 subhosts booted, one `subhost boot --parallel 4` batch', 's', batch, 10),
    figure('stop100-batch', '100 subhosts stopped, one `subhost stop --parallel 4` batch', 's', stopAll),
    figure('rss', 'host-side RSS per running subhost (its supervisor)', 'MiB', rss, 2),
    figure('pss', 'host-side PSS per running subhost (its supervisor)', 'MiB', pss),
  ];
}

/** 4. CLI start-up: `subhost --version` against `node -e 0`, started as bin/subhost starts Node. */
function version(runs: number, builds: Build[]): Figure[] {
  const ours = perBuild(builds, ['version'] as const);
  const node: number[] = [];
  const withCa: number[] = [];
  for (let i = 0; i < Math.max(runs, 20); i++) {
    node.push(must([process.execPath, '-e', '0'], nodeStartEnv()).ms);
    if (process.env.NODE_EXTRA_CA_CERTS) withCa.push(must([process.execPath, '-e', '0']).ms);
    for (const b of inTurn(builds, i)) ours.get(b)!.version.push(must(buildArgv(b.bin, '--version')).ms);
  }
  const [a, ...before] = builds.map((b) => figure(`version${b.suffix}`, `\`subhost --version\`${b.note}`, 'ms', ours.get(b)!.version));
  const b = figure('node', '`node -e 0` (without NODE_EXTRA_CA_CERTS, as bin/subhost starts it)', 'ms', node);
  const ratio = figure('version-ratio', '`subhost --version` / `node -e 0` (medians)', 'x', [a.median / b.median], 1.3);
  // This environment's CA file, which Node 20 would parse at every start: what bin/subhost saves.
  const ca = withCa.length ? [figure('node-ca', `\`node -e 0\` with this environment's NODE_EXTRA_CA_CERTS (${process.env.NODE_EXTRA_CA_CERTS})`, 'ms', withCa)] : [];
  return [a, ...before, b, ratio, ...ca];
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error('run the bench as root');
  if (o.v2View) {
    const status = rerunInV2View(process.argv.slice(1));
    if (status !== undefined) {
      process.exitCode = status;
      return;
    }
  }
  const cgroups = await makeV2View();
  const want = (s: string) => !o.only || o.only.has(s);
  const builds = benchBuilds(o.compare);
  const w = new BenchWorld();
  const figures: Figure[] = [];
  const started = new Date();
  await w.setUp();
  try {
    if (want('single')) figures.push(...(await single(w, o.runs, builds)));
    if (want('hundred')) figures.push(...(await hundred(w, o.runs)));
    if (want('scale')) figures.push(...(await benchScale(w, o.runs, o.scale, builds)));
    if (want('usage')) figures.push(...(await benchUsage(w, o.runs)));
    if (want('daemon')) figures.push(...(await benchDaemon(w, o.runs)));
    if (want('report')) figures.push(...benchReport(o.runs));
    if (want('version')) figures.push(...version(o.runs, builds));
    if (o.withPeers) figures.push(...(await benchPeers(w, o.runs, figures)));
    if (want('floors')) figures.push(...(await benchFloors(w, o.runs, figures)));
  } finally {
    await w.tearDown();
  }
  const header = `subhost bench: ${hostname()}, ${cpus().length} CPUs, Linux ${release()}, Node ${process.version}, ${cgroups}, ${started.toISOString()}`;
  process.stdout.write(`\n${header}\n\n${formatTable(figures).join('\n')}\n`);
  if (o.out) {
    writeFileSync(o.out, JSON.stringify({ host: hostname(), cpus: cpus().length, kernel: release(), node: process.version, cgroups, date: started.toISOString(), runs: o.runs, figures }, null, 2) + '\n');
    process.stdout.write(`\nwrote ${o.out}\n`);
  }
  // The tests' leak scan, for the bench's names (PREFIX*) and root: mounts, loops, links, netns, cgroups, processes, state.
  const left = findTestLeftovers('/run/subhost', w.prefix, w.root);
  if (left.length) throw new Error(`the bench left behind:\n${describeLeftovers(left)}`);
}

main().catch((err: Error) => {
  process.stderr.write(`bench: ${err.message}\n`);
  process.exitCode = 1;
});
