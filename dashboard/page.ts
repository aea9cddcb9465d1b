/**
 * The dashboard page: one self-contained HTML document (inline CSS and script, no CDN, no
 * framework, no web fonts) that fetches `api/summary` every REFRESH_INTERVAL_MS and draws
 * the totals, an SVG stacked-bar chart, the event-type mix and the pipeline's health.
 * The inline script (script.ts) and style are allowed by hash in the Content-Security-Policy.
 */
import { createHash } from 'node:crypto';
import { pageScript, type PageOptions } from './script.ts';

const style = `
:root { color-scheme: light; --ink: #0f172a; --muted: #475569; --line: #cbd5e1; --panel: #ffffff; --bg: #f1f5f9; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink); font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
header { display: flex; align-items: center; gap: 16px; padding: 10px 24px; background: #0f172a; color: #f8fafc; }
header h1 { margin: 0; font-size: 18px; font-weight: 600; flex: 1; }
header label { font-size: 13px; color: #e2e8f0; }
header select { margin-left: 6px; font: inherit; padding: 2px 4px; border-radius: 4px; border: 1px solid #94a3b8; background: #1e293b; color: #f8fafc; }
#updated { font-size: 13px; color: #cbd5e1; font-variant-numeric: tabular-nums; min-width: 150px; text-align: right; }
.pill { display: inline-block; padding: 3px 10px; border-radius: 999px; font-weight: 600; font-size: 13px; border: 1px solid transparent; }
.pill[data-status="live"] { background: #dcfce7; color: #14532d; border-color: #86efac; }
.pill[data-status="stale"] { background: #fef3c7; color: #713f12; border-color: #fcd34d; }
.pill[data-status="down"], .pill[data-status="offline"] { background: #fee2e2; color: #7f1d1d; border-color: #fca5a5; }
.pill[data-status="no-data"], .pill[data-status="loading"] { background: #e2e8f0; color: #1e293b; border-color: #94a3b8; }
main { padding: 16px 24px; display: grid; gap: 16px; }
/* Old numbers fade; the health panel, which says why, does not. */
main.stale .totals, main.stale .panel:not(.health-panel) { opacity: 0.55; }
.totals { display: grid; grid-template-columns: repeat(5, 1fr); gap: 12px; margin: 0; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; }
.card dt { font-size: 12px; color: var(--muted); text-transform: uppercase; letter-spacing: 0.04em; }
.card dd { margin: 2px 0 0; font-size: 26px; font-weight: 650; font-variant-numeric: tabular-nums; white-space: nowrap; }
.card dd small { font-size: 13px; font-weight: 500; color: var(--muted); }
.grid { display: grid; grid-template-columns: minmax(0, 2.2fr) minmax(0, 1fr); gap: 16px; align-items: start; }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; }
.panel h2 { margin: 0 0 8px; font-size: 15px; font-weight: 600; }
.panel h2 small { font-weight: 400; color: var(--muted); }
.side { display: grid; gap: 16px; }
.legend { display: flex; flex-wrap: wrap; gap: 6px 18px; margin: 0 0 6px; padding: 0; list-style: none; font-size: 13px; font-variant-numeric: tabular-nums; }
.legend li { display: flex; align-items: center; gap: 6px; }
.swatch { width: 12px; height: 12px; border-radius: 2px; display: inline-block; }
#chart { width: 100%; height: auto; display: block; }
#chart text { font-size: 11px; fill: #334155; font-variant-numeric: tabular-nums; }
#chart .grid-line { stroke: #e2e8f0; }
#chart .axis { stroke: #64748b; }
#chart text.empty { font-size: 15px; fill: #475569; }
details { margin-top: 6px; font-size: 13px; }
details summary { cursor: pointer; color: #1e40af; }
.table-wrap { max-height: 220px; overflow: auto; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; width: 100%; }
th, td { padding: 2px 8px; text-align: right; border-bottom: 1px solid #e2e8f0; }
th:first-child, td:first-child { text-align: left; }
.mix { list-style: none; margin: 0; padding: 0; display: grid; gap: 8px; }
.mix .row { display: flex; justify-content: space-between; font-size: 13px; font-variant-numeric: tabular-nums; }
.mix .name { font-weight: 600; }
.mix .track { height: 10px; background: #e2e8f0; border-radius: 5px; overflow: hidden; margin-top: 3px; }
.mix .bar { height: 100%; background: #334155; }
.health { margin: 0; display: grid; grid-template-columns: auto 1fr; gap: 6px 12px; font-size: 13px; font-variant-numeric: tabular-nums; }
.health dt { color: var(--muted); }
.health dd { margin: 0; }
.ok { color: #166534; font-weight: 600; }
.bad { color: #991b1b; font-weight: 600; }
.warn { color: #854d0e; font-weight: 600; }
#health-note { margin: 8px 0 0; font-size: 12px; color: var(--muted); }
.sr-only { position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
a { color: #1e40af; }
.noscript { padding: 0 24px; }
`;

export interface Page {
  html: string;
  /** Content-Security-Policy that allows exactly the inline script and style. */
  csp: string;
}

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

export function renderPage(options: PageOptions): Page {
  const script = pageScript(options);
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>big-data-pipeline · live shop analytics</title>
<style>${style}</style>
</head>
<body>
<header>
  <h1>big-data-pipeline · live shop analytics</h1>
  <label for="minutes">Range
    <select id="minutes">
      <option value="15">15 min</option>
      <option value="30">30 min</option>
      <option value="60">60 min</option>
      <option value="180">3 h</option>
      <option value="720">12 h</option>
      <option value="1440">24 h</option>
    </select>
  </label>
  <span id="status" class="pill" data-status="loading" title="Pipeline status">Loading…</span>
  <span id="updated">Waiting for data…</span>
</header>
<div id="announce" class="sr-only" role="status" aria-live="polite"></div>
<noscript><p class="noscript">This page draws its charts with JavaScript. The same numbers are at <a href="api/summary">api/summary</a>.</p></noscript>
<main id="main">
  <dl class="totals" aria-label="Totals over the chosen range, from the window aggregates">
    <div class="card"><dt>Events</dt><dd id="total-events">—</dd></div>
    <div class="card"><dt>Revenue</dt><dd id="total-revenue">—</dd></div>
    <div class="card"><dt>Purchases</dt><dd id="total-purchases">—</dd></div>
    <div class="card"><dt>Late events</dt><dd id="total-late">—</dd></div>
    <div class="card"><dt>Windows</dt><dd><span id="windows-open">—</span> <small>open</small> / <span id="windows-final">—</span> <small>final</small></dd></div>
  </dl>
  <div class="grid">
    <section class="panel" aria-labelledby="chart-heading">
      <h2 id="chart-heading">Revenue per minute by region <small class="range-label">last 60 min</small></h2>
      <ul id="legend" class="legend" aria-label="Regions and their revenue over the range"></ul>
      <svg id="chart" viewBox="0 0 860 380" role="img" aria-labelledby="chart-title chart-desc">
        <title id="chart-title">Revenue per minute by region</title>
        <desc id="chart-desc">Loading.</desc>
        <g id="plot"></g>
      </svg>
      <details>
        <summary>Revenue per minute as a table</summary>
        <div class="table-wrap">
          <table>
            <caption class="sr-only">Revenue per minute by region, newest first; minutes without events are left out</caption>
            <thead id="chart-table-head"></thead>
            <tbody id="chart-table-body"></tbody>
          </table>
        </div>
      </details>
    </section>
    <div class="side">
      <section class="panel" aria-labelledby="mix-heading">
        <h2 id="mix-heading">Event-type mix <small class="range-label">last 60 min</small></h2>
        <ul id="mix" class="mix"></ul>
      </section>
      <section class="panel health-panel" aria-labelledby="health-heading">
        <h2 id="health-heading">Pipeline health</h2>
        <dl class="health">
          <dt>Elasticsearch</dt><dd id="h-es">—</dd>
          <dt>Newest window</dt><dd id="h-newest">—</dd>
          <dt>Last recompute</dt><dd id="h-fresh">—</dd>
          <dt>Windows in range</dt><dd id="h-windows">—</dd>
        </dl>
        <p id="health-note"></p>
      </section>
    </div>
  </div>
</main>
<script>${script}</script>
</body>
</html>
`;
  const csp = [
    "default-src 'none'",
    `script-src ${sha256(script)}`,
    // The chart's colours and bar widths are set through the CSSOM, which CSP allows.
    `style-src ${sha256(style)}`,
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return { html, csp };
}
