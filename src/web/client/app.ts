/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The dashboard in the browser: the list from /api/v1/subhosts every REFRESH_MS, charts from
 * /api/v1/history; everything from the daemon that served the page (bundled with uPlot by the build).
 */
import uPlot from 'uplot';
import { bytes, cores, duration, rate, type Point, type Row, type Series, type Snapshot } from './data';

const REFRESH_MS = 2000;
const CHART_REFRESH_MS = 10_000;
const RANGES: Record<string, { since: string; seconds: number; step: number }> = {
  '1h': { since: '1h', seconds: 3600, step: 10 },
  '24h': { since: '24h', seconds: 86400, step: 300 },
  '7d': { since: '7d', seconds: 7 * 86400, step: 3600 },
};

let range = localStorage.getItem('subhost.range') ?? '1h';
let previous: Snapshot | undefined;
/** The oldest point of the history shown: the x axis starts there when the range reaches further back. */
let firstX = 0;
const charts = new Map<string, uPlot[]>();

const $ = <T extends HTMLElement>(sel: string) => document.querySelector(sel) as T;

async function getJson<T>(path: string): Promise<T> {
  const r = await fetch(path, { cache: 'no-store' });
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return (await r.json()) as T;
}

function cell(text: string, cls = ''): HTMLTableCellElement {
  const td = document.createElement('td');
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

/** Live rates from this snapshot and the one before (CPU in cores, IO in bytes/s). */
function rows(s: Snapshot): Row[] {
  const dt = previous ? (Date.parse(s.sampledAt ?? '') - Date.parse(previous.sampledAt ?? '')) / 1000 : 0;
  const before = new Map((previous ? [...previous.subhosts, ...previous.vms] : []).map((x) => [`${x.usage?.kind}/${x.name}`, x.usage]));
  const all = [...s.subhosts.map((x) => ({ ...x, kind: 'subhost' })), ...s.vms.map((x) => ({ ...x, kind: 'vm', state: 'running' }))];
  return all.map((x) => {
    const u = x.usage;
    const b = before.get(`${x.kind}/${x.name}`);
    const d = (f: (v: NonNullable<typeof u>) => number | null) => (u && b && dt > 0 ? ((f(u) ?? 0) - (f(b) ?? 0)) / dt : null);
    return {
      name: x.name,
      kind: x.kind,
      state: x.state ?? 'unknown',
      uptime: x.uptimeSeconds ?? null,
      cpu: d((v) => (v.cpu.userSeconds ?? 0) + (v.cpu.systemSeconds ?? 0)),
      mem: u?.memory.currentBytes ?? null,
      ioRead: d((v) => v.io.readBytes),
      ioWrite: d((v) => v.io.writeBytes),
      tasks: u?.tasks.count ?? null,
    };
  });
}

function renderList(s: Snapshot): void {
  $('#host').textContent = s.host;
  $('#sampled').textContent = s.sampledAt ? new Date(s.sampledAt).toLocaleTimeString() : 'not yet';
  const body = $('#list tbody');
  const trs = rows(s).map((r) => {
    const tr = document.createElement('tr');
    tr.dataset.name = r.name;
    tr.dataset.kind = r.kind;
    tr.dataset.state = r.state;
    tr.append(cell(r.name, 'name'), cell(r.kind, 'kind'), cell(r.state, `state ${r.state}`), cell(r.uptime === null ? '-' : duration(r.uptime), 'num'));
    tr.append(cell(cores(r.cpu), 'num'), cell(bytes(r.mem), 'num'), cell(rate(r.ioRead), 'num'), cell(rate(r.ioWrite), 'num'), cell(r.tasks === null ? '-' : String(r.tasks), 'num opt'));
    return tr;
  });
  body.replaceChildren(...trs);
  $('#empty').hidden = trs.length > 0;
  previous = s;
}

const CHARTS: { title: string; unit: (v: number) => string; floor: number; series: { label: string; color: string; value: (p: Point, step: number) => number | null }[] }[] = [
  { title: 'CPU', unit: cores, floor: 0.01, series: [{ label: 'cores', color: '#2a7ab0', value: (p, step) => (p.cpuUserSeconds + p.cpuSystemSeconds) / step }] },
  { title: 'Memory', unit: bytes, floor: 1024 * 1024, series: [{ label: 'average', color: '#3a9a5b', value: (p) => p.memoryAvgBytes }, { label: 'peak', color: '#a0c8a8', value: (p) => p.memoryPeakBytes }] },
  {
    title: 'IO',
    unit: rate,
    floor: 1024,
    series: [
      { label: 'read/s', color: '#8a5cc2', value: (p, step) => p.ioReadBytes / step },
      { label: 'write/s', color: '#d08a2c', value: (p, step) => p.ioWriteBytes / step },
    ],
  },
];

function chartWidth(el: HTMLElement): number {
  return Math.max(240, el.clientWidth - 2);
}

function drawSeries(container: HTMLElement, s: Series, step: number): void {
  const key = `${s.kind}/${s.name}`;
  let card = container.querySelector<HTMLElement>(`[data-series="${CSS.escape(key)}"]`);
  const xs = s.points.map((p) => Date.parse(p.time) / 1000);
  const datasets = CHARTS.map((c) => [xs, ...c.series.map((x) => s.points.map((p) => x.value(p, step)))] as uPlot.AlignedData);
  const existing = charts.get(key);
  if (card && existing) {
    existing.forEach((u, i) => u.setData(datasets[i]));
  } else {
    card = document.createElement('section');
    card.className = 'card';
    card.dataset.series = key;
    const h = document.createElement('h2');
    h.textContent = `${s.name} `;
    const k = document.createElement('span');
    k.className = 'kind';
    k.textContent = s.kind;
    h.append(k);
    card.append(h);
    container.append(card);
    const made = CHARTS.map((c, i) => {
      const box = document.createElement('div');
      box.className = 'chart';
      card!.append(box);
      const opts: uPlot.Options = {
        title: c.title,
        width: chartWidth(card!),
        height: 150,
        series: [{}, ...c.series.map((x) => ({ label: x.label, stroke: x.color, width: 1.5, value: (_u: uPlot, v: number | null) => (v === null ? '-' : c.unit(v)) }))],
        axes: [{}, { size: 70, values: (_u: uPlot, vals: number[]) => vals.map((v) => c.unit(v)) }],
        legend: { live: true },
        // The whole range on the x axis (a new subhost's few points sit at its end), y from 0.
        scales: {
          x: { time: true, range: () => [Math.max(Date.now() / 1000 - RANGES[range].seconds, Number.isFinite(firstX) ? firstX : 0), Date.now() / 1000] },
          y: { range: (_u: uPlot, _min: number, max: number) => [0, Math.max(max * 1.1, c.floor)] },
        },
      };
      return new uPlot(opts, datasets[i], box);
    });
    charts.set(key, made);
  }
  card.dataset.points = String(xs.length);
}

type History = { stepSeconds: number; series: Series[] };
const historyOf = (r: string) => getJson<History>(`/api/v1/history?since=${RANGES[r].since}&step=${RANGES[r].step}`);

/** Draw the charts of the current range; `fetched`: its history, already asked for. */
async function refreshCharts(fetched?: Promise<History>): Promise<void> {
  const h = await (fetched ?? historyOf(range));
  const container = $('#charts');
  // Charts of what the list shows (this host's subhosts and VMs), in its order.
  const order = previous ? [...previous.subhosts.map((x) => `subhost/${x.name}`), ...previous.vms.map((x) => `vm/${x.name}`)] : [];
  const shown = h.series.filter((s) => order.includes(`${s.kind}/${s.name}`)).sort((a, b) => order.indexOf(`${a.kind}/${a.name}`) - order.indexOf(`${b.kind}/${b.name}`));
  firstX = Math.min(...shown.map((s) => (s.points.length ? Date.parse(s.points[0].time) / 1000 : Infinity)));
  for (const s of shown) drawSeries(container, s, h.stepSeconds);
  container.dataset.range = range;
}

function resize(): void {
  for (const list of charts.values()) for (const u of list) u.setSize({ width: chartWidth(u.root.parentElement!.parentElement!), height: 150 });
}

function selectRange(r: string, fetched?: Promise<History>): void {
  range = r;
  localStorage.setItem('subhost.range', r);
  for (const b of document.querySelectorAll<HTMLButtonElement>('#ranges button')) b.setAttribute('aria-pressed', String(b.dataset.range === r));
  for (const list of charts.values()) for (const u of list) u.destroy();
  charts.clear();
  $('#charts').replaceChildren();
  void refreshCharts(fetched).catch(showError);
}

function showError(err: unknown): void {
  $('#error').textContent = `cannot reach the daemon: ${(err as Error).message}`;
  $('#error').hidden = false;
}

async function tick(): Promise<void> {
  try {
    renderList(await getJson<Snapshot>('/api/v1/subhosts'));
    $('#error').hidden = true;
  } catch (err) {
    showError(err);
  }
}

for (const b of document.querySelectorAll<HTMLButtonElement>('#ranges button')) b.addEventListener('click', () => selectRange(b.dataset.range!));
window.addEventListener('resize', resize);
// The first history is asked for beside the first list, not after it (the charts need both).
if (!RANGES[range]) range = '1h';
const firstHistory = historyOf(range);
firstHistory.catch(() => undefined); // an error is shown when the charts await it
void tick().then(() => selectRange(range, firstHistory));
setInterval(tick, REFRESH_MS);
setInterval(() => void refreshCharts().catch(showError), CHART_REFRESH_MS);
