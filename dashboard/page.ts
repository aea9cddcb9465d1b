/**
 * The dashboard page: an HTML document of labelled, empty panels, its filters' controls and
 * the script and style sheet the app serves itself (app.js and app.css, bundled from
 * browser/). No CDN, no inline script or style: the Content-Security-Policy allows only this
 * origin. Every value arrives later through the script, as text.
 */
import { EVENT_TYPES, REGIONS } from '../shared/schemas.ts';
import { DEFAULT_MINUTES, RANGE_CHOICES } from './filters.ts';
import { formatRange } from './view.ts';

export interface PageOptions {
  refreshIntervalMs: number;
}

/** The page's script and style sheet, as browser/bundle.mjs builds them. */
export interface PageAssets {
  js: string;
  css: string;
}

export interface Page {
  html: string;
  csp: string;
}

const option = (value: string, label: string, selected = false) => `<option value="${value}"${selected ? ' selected' : ''}>${label}</option>`;

/** A chart, its description for screen readers, and the same numbers as a table. */
function chartPanel(id: string, title: string, tableCaption: string, wide = false): string {
  return `<section class="panel${wide ? ' wide' : ''}" aria-labelledby="${id}-heading">
      <h2 id="${id}-heading">${title} <small class="range-label"></small></h2>
      <div id="${id}" class="chart" role="img" aria-labelledby="${id}-heading" aria-describedby="${id}-desc"></div>
      <p id="${id}-desc" class="sr-only">Loading.</p>
      <details>
        <summary>${title} as a table</summary>
        <div class="table-wrap"><table><caption class="sr-only">${tableCaption}</caption><thead id="${id}-head"></thead><tbody id="${id}-body"></tbody></table></div>
      </details>
    </section>`;
}

const stageColumns = ['Function', 'Source (topic)', 'Lag', 'vreplicas', 'Dispatcher pods', 'Consumers', 'Instances', 'In', 'Out', 'Dead letters'];

export function renderPage(options: PageOptions): Page {
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>big-data-pipeline · live shop analytics</title>
<link rel="stylesheet" href="app.css">
<script defer src="app.js"></script>
</head>
<body data-refresh-ms="${options.refreshIntervalMs}">
<header>
  <h1>big-data-pipeline · live shop analytics</h1>
  <form id="filters" class="filters" aria-label="Filters: every number on the page follows them">
    <label for="f-minutes">Range</label>
    <select id="f-minutes" name="minutes">${RANGE_CHOICES.map((m) => option(String(m), formatRange(m).replace('last ', ''), m === DEFAULT_MINUTES)).join('')}</select>
    <label for="f-region">Region</label>
    <select id="f-region" name="region">${option('', 'All regions', true)}${REGIONS.map((r) => option(r, r)).join('')}</select>
    <label for="f-event-type">Event type</label>
    <select id="f-event-type" name="event_type">${option('', 'All types', true)}${EVENT_TYPES.map((t) => option(t, t)).join('')}</select>
  </form>
  <span id="status" class="pill" data-status="loading" title="Pipeline status">Loading…</span>
  <span id="updated">Waiting for data…</span>
</header>
<div id="announce" class="sr-only" role="status" aria-live="polite"></div>
<noscript><p class="noscript">This page draws its charts with JavaScript. The same numbers are at <a href="api/summary">api/summary</a> and <a href="api/stages">api/stages</a>.</p></noscript>
<main id="main">
  <p id="filter-note" class="filter-note" hidden></p>
  <dl class="totals" aria-label="Totals over the chosen range and filters, from the window aggregates">
    <div class="card"><dt>Events</dt><dd id="total-events">—</dd></div>
    <div class="card"><dt>Revenue</dt><dd id="total-revenue">—</dd></div>
    <div class="card"><dt>Purchases</dt><dd id="total-purchases">—</dd></div>
    <div class="card"><dt title="Purchases per view">Conversion</dt><dd id="total-conversion">—</dd></div>
    <div class="card"><dt>Late events</dt><dd id="total-late">—</dd></div>
    <div class="card"><dt>Windows</dt><dd><span id="windows-open">—</span> <small>open</small> / <span id="windows-final">—</span> <small>final</small></dd></div>
  </dl>
  <div class="grid">
    ${chartPanel('chart-revenue', 'Revenue per minute by region', 'Revenue per minute by region, newest first; minutes without events are left out', true)}
    <section class="panel" aria-labelledby="mix-heading">
      <h2 id="mix-heading">Event-type mix <small class="range-label"></small></h2>
      <ul id="mix" class="mix"></ul>
    </section>
    ${chartPanel('chart-types', 'Events per minute by type', 'Events per minute by event type, newest first; minutes without events are left out', true)}
    ${chartPanel('chart-late', 'Late events per minute', 'Late events per minute, newest first; minutes without events are left out')}
    <section class="panel wide" aria-labelledby="categories-heading">
      <h2 id="categories-heading">Top categories <small class="range-label"></small></h2>
      <table class="ranked"><caption class="sr-only">Categories by revenue, then events</caption>
        <thead><tr><th scope="col">Category</th><th scope="col">Revenue</th><th scope="col">Purchases</th><th scope="col">Events</th><th scope="col"><span class="sr-only">Share of revenue</span></th></tr></thead>
        <tbody id="categories"></tbody></table>
    </section>
    <section class="panel" aria-labelledby="brands-heading">
      <h2 id="brands-heading">Top brands <small class="range-label"></small></h2>
      <table class="ranked"><caption class="sr-only">Brands by revenue, then events</caption>
        <thead><tr><th scope="col">Brand</th><th scope="col">Revenue</th><th scope="col">Events</th></tr></thead>
        <tbody id="brands"></tbody></table>
    </section>
    <section class="panel wide health-panel" aria-labelledby="stages-heading">
      <h2 id="stages-heading">Pipeline stages <small id="stages-origin"></small></h2>
      <div class="table-wrap tall"><table class="stages"><caption class="sr-only">Per function: its KafkaSource's lag and scaling, its instances and rates</caption>
        <thead><tr>${stageColumns.map((c) => `<th scope="col">${c}</th>`).join('')}</tr></thead>
        <tbody id="stages"></tbody></table></div>
      <p id="stages-note" class="note"></p>
    </section>
    <section class="panel health-panel" aria-labelledby="health-heading">
      <h2 id="health-heading">Pipeline health</h2>
      <dl class="health">
        <dt>Elasticsearch</dt><dd id="h-es">—</dd>
        <dt>Newest window</dt><dd id="h-newest">—</dd>
        <dt>Last recompute</dt><dd id="h-fresh">—</dd>
        <dt>Windows in view</dt><dd id="h-windows">—</dd>
      </dl>
      <p id="health-note" class="note"></p>
    </section>
  </div>
</main>
</body>
</html>
`;
  const csp = [
    "default-src 'none'",
    "script-src 'self'",
    // uPlot sizes and places its elements through the CSSOM, which style-src does not restrict.
    "style-src 'self'",
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return { html, csp };
}
