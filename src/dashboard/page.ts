/**
 * The live dashboard: one self-contained HTML page (no CDN, no external
 * asset) served at `/switchyard/dashboard`. Charts are drawn as inline SVG by
 * the page's own script (`client.ts`) from the `/switchyard/stats` snapshot
 * and the `/switchyard/events` stream.
 */
import { DASHBOARD_SCRIPT } from './client.js';

const CSS = `
:root { --bg:#0f1419; --card:#171d25; --line:#263040; --text:#d8dee9; --dim:#8b96a8; --accent:#5ab0f6; --good:#5bd18b; --warn:#f2c14e; --bad:#ef6b6b; --violet:#b48ef5; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background:var(--bg); color:var(--text); }
header { display:flex; align-items:baseline; gap:16px; padding:14px 22px; border-bottom:1px solid var(--line); }
header h1 { font-size:18px; margin:0; font-weight:600; letter-spacing:.2px; }
header .dim { color:var(--dim); font-size:12px; }
#conn { margin-left:auto; font-size:12px; padding:2px 10px; border-radius:10px; background:#3a2a2a; color:var(--bad); }
#conn.on { background:#1f3a2c; color:var(--good); }
main { padding:16px 22px 28px; display:grid; gap:14px; grid-template-columns: repeat(12, 1fr); }
.card { background:var(--card); border:1px solid var(--line); border-radius:10px; padding:12px 14px; min-width:0; }
.card h2 { font-size:12px; text-transform:uppercase; letter-spacing:.8px; color:var(--dim); margin:0 0 8px; font-weight:600; }
.kpi { grid-column: span 2; }
.kpi .v { font-size:26px; font-weight:600; font-variant-numeric: tabular-nums; }
.kpi .s { color:var(--dim); font-size:12px; }
.w4 { grid-column: span 4; } .w6 { grid-column: span 6; } .w8 { grid-column: span 8; } .w12 { grid-column: span 12; }
svg { width:100%; display:block; }
svg text { fill:var(--dim); font-size:11px; font-family:inherit; }
.legend { display:flex; gap:14px; font-size:12px; color:var(--dim); margin-top:4px; flex-wrap:wrap; }
.legend i { display:inline-block; width:10px; height:10px; border-radius:2px; margin-right:5px; vertical-align:-1px; }
table { width:100%; border-collapse:collapse; font-size:12px; font-variant-numeric: tabular-nums; }
th, td { text-align:left; padding:4px 6px; border-bottom:1px solid var(--line); white-space:nowrap; overflow:hidden; text-overflow:ellipsis; max-width:220px; }
th { color:var(--dim); font-weight:500; }
.pill { padding:1px 8px; border-radius:9px; font-size:11px; font-weight:600; }
.pill.closed { background:#1f3a2c; color:var(--good); } .pill.open { background:#3a2424; color:var(--bad); } .pill.half-open { background:#3a3420; color:var(--warn); }
.st2 { color:var(--good); } .st4 { color:var(--warn); } .st5 { color:var(--bad); }
@media (max-width: 1100px) { .kpi { grid-column: span 4; } .w4, .w6, .w8 { grid-column: span 12; } }
`;

const BODY = `
<header><h1>Switchyard</h1><span class="dim" id="since"></span><span class="dim" id="reference"></span><span id="conn">offline</span></header>
<main>
  <div class="card kpi"><h2>Requests</h2><div class="v" id="kpi-requests">0</div><div class="s"><span id="kpi-errors">0</span> errors · <span id="kpi-inflight">0</span> in flight</div></div>
  <div class="card kpi"><h2>Cache hit rate</h2><div class="v" id="kpi-hit-rate">0%</div><div class="s"><span id="kpi-hits">0</span> of <span id="kpi-lookups">0</span> lookups</div></div>
  <div class="card kpi"><h2>Cost</h2><div class="v" id="kpi-cost">$0</div><div class="s"><span id="kpi-tokens">0</span> tokens</div></div>
  <div class="card kpi"><h2>Savings</h2><div class="v" id="kpi-savings">$0</div><div class="s" id="kpi-savings-ref">vs reference</div></div>
  <div class="card kpi"><h2>Latency p50</h2><div class="v" id="kpi-p50">–</div><div class="s">p90 <span id="kpi-p90">–</span></div></div>
  <div class="card kpi"><h2>Latency p99</h2><div class="v" id="kpi-p99">–</div><div class="s">TTFT p50 <span id="kpi-ttft">–</span></div></div>

  <div class="card w4"><h2>Routing: by model</h2><svg id="chart-models" height="170"></svg></div>
  <div class="card w4"><h2>Routing: by tier</h2><svg id="chart-tiers" height="170"></svg></div>
  <div class="card w4"><h2>Cache results</h2><svg id="chart-cache" height="170"></svg></div>

  <div class="card w6"><h2>Requests per second and cache hit rate (%)</h2><svg id="chart-traffic" height="180"></svg><div class="legend" id="legend-traffic"></div></div>
  <div class="card w6"><h2>Cost and savings (USD, cumulative)</h2><svg id="chart-cost" height="180"></svg><div class="legend" id="legend-cost"></div></div>

  <div class="card w8"><h2>Latency percentiles (ms)</h2><svg id="chart-latency" height="180"></svg><div class="legend" id="legend-latency"></div></div>
  <div class="card w4"><h2>Circuit breakers</h2><table><thead><tr><th>Upstream</th><th>State</th><th>In flight</th><th>Requests</th></tr></thead><tbody id="breakers"></tbody></table></div>
  <div class="card w12"><h2>Deployments</h2><table><thead><tr><th>Model</th><th>Upstream</th><th>Breaker</th><th>Why unusable</th></tr></thead><tbody id="deployments"></tbody></table></div>

  <div class="card w12"><h2>Latest decisions</h2><table><thead><tr><th>Time</th><th>Route</th><th>Cache</th><th>Tier</th><th>Upstream</th><th>Model</th><th>Status</th><th>ms</th><th>Tokens</th><th>Cost</th><th>Reason</th></tr></thead><tbody id="recent"></tbody></table></div>
</main>
`;

/** A switch (two tracks parting), inline: no extra request, no route to serve. */
const FAVICON =
  'data:image/svg+xml,' +
  encodeURIComponent(
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#0f1419"/>' +
      '<path d="M6 26 L16 14 L16 5 M16 14 L26 26" stroke="#5ab0f6" stroke-width="3.5" fill="none" stroke-linecap="round" stroke-linejoin="round"/>' +
      '<circle cx="16" cy="14" r="3" fill="#5bd18b"/></svg>',
  );

let page: string | undefined;

/**
 * The dashboard's HTML (built once).
 *
 * @example
 * res.end(dashboardHtml());
 */
export function dashboardHtml(): string {
  page ??= `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Switchyard · live</title><link rel="icon" type="image/svg+xml" href="${FAVICON}"><style>${CSS}</style></head>
<body>${BODY}<script>${DASHBOARD_SCRIPT}</script></body></html>`;
  return page;
}
