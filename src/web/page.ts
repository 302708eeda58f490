/** The dashboard's one page: markup and styles; app.js (bundled with uPlot) fills it in. */
const STYLE = `
:root { font: 14px/1.4 system-ui, sans-serif; color: #1d2430; background: #f4f6f9; }
body { margin: 0; }
header { display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; align-items: baseline; padding: .75rem 1rem; background: #1d2430; color: #fff; }
header h1 { font-size: 1.1rem; margin: 0; }
header .meta { color: #b8c2d0; font-size: .9rem; }
main { padding: 1rem; max-width: 1400px; margin: 0 auto; }
/* A narrow screen scrolls the table, never the page. */
.tablewrap { overflow-x: auto; }
table { width: 100%; border-collapse: collapse; background: #fff; border-radius: 6px; overflow: hidden; box-shadow: 0 1px 2px #0002; }
th, td { padding: .4rem .6rem; text-align: left; border-bottom: 1px solid #e6e9ef; white-space: nowrap; }
th { font-weight: 600; font-size: .8rem; color: #5b6678; background: #fafbfc; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.state.running { color: #17803d; font-weight: 600; }
td.state.stopped { color: #8a94a3; }
td.state.failed { color: #c0392b; font-weight: 600; }
td.state.hibernated { color: #b7791f; }
#ranges { margin: 1.25rem 0 .5rem; display: flex; gap: .4rem; align-items: center; }
#ranges button { font: inherit; padding: .25rem .8rem; border: 1px solid #c5ccd8; background: #fff; border-radius: 4px; cursor: pointer; }
#ranges button[aria-pressed=true] { background: #2a7ab0; border-color: #2a7ab0; color: #fff; }
#charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(420px, 100%), 1fr)); gap: 1rem; }
.chart { overflow: hidden; }
.card { background: #fff; border-radius: 6px; padding: .5rem .75rem; box-shadow: 0 1px 2px #0002; min-width: 0; }
.card h2 { font-size: 1rem; margin: .25rem 0; }
.card .kind { font-size: .75rem; color: #5b6678; font-weight: 400; }
.chart { margin-top: .25rem; }
#error { background: #fdecea; color: #8a1f11; padding: .5rem 1rem; border-radius: 4px; margin-bottom: 1rem; }
#empty { color: #5b6678; }
@media (max-width: 700px) {
  main { padding: .5rem; }
  #charts { grid-template-columns: minmax(0, 1fr); }
  th.opt, td.opt, th.kind, td.kind { display: none; }
  th, td { padding: .35rem .4rem; font-size: .85rem; }
}`;

export function dashboardPage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>subhost</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/uPlot.min.css">
<style>${STYLE}</style>
</head>
<body>
<header><h1>subhost</h1><span class="meta">host <b id="host">…</b></span><span class="meta">sampled <span id="sampled">…</span></span></header>
<main>
<div id="error" hidden></div>
<div class="tablewrap"><table id="list">
<thead><tr><th>name</th><th class="kind">kind</th><th>state</th><th class="num">uptime</th><th class="num">cpu</th><th class="num">memory</th><th class="num">read</th><th class="num">write</th><th class="num opt">tasks</th></tr></thead>
<tbody></tbody>
</table></div>
<p id="empty" hidden>No subhost or VM on this host.</p>
<div id="ranges" role="group" aria-label="chart range">charts over <button data-range="1h">1 h</button><button data-range="24h">24 h</button><button data-range="7d">7 d</button></div>
<div id="charts"></div>
</main>
<script src="/static/app.js"></script>
</body>
</html>
`;
}
