/**
 * The dashboard page's script: it fetches `api/summary` every REFRESH_INTERVAL_MS and draws
 * the totals, the chart, the event-type mix and the health panel. Every value from the
 * server is set as text (textContent / SVG attributes), never as HTML.
 */
import { browserHelpers } from './view.ts';

/** The page's own code; the helpers from view.ts are prepended (see `pageScript`). */
const client = `
const COLORS = { US: '#1d4ed8', EU: '#c2410c', ASIA: '#047857', SA: '#7e22ce' };
const EXTRA_COLORS = ['#475569', '#a16207', '#be123c', '#0e7490'];
const SVG_NS = 'http://www.w3.org/2000/svg';
const byId = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
let minutes = Number(params.get('minutes')) || 60;
let lastStatus = '';
let hasData = false;

function node(tag, attrs, text, ns) {
  const e = ns ? document.createElementNS(ns, tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}
const svgNode = (tag, attrs, text) => node(tag, attrs, text, SVG_NS);
const setText = (id, text) => { byId(id).textContent = text; };
const pad2 = (n) => String(n).padStart(2, '0');
const hhmm = (iso) => { const d = new Date(iso); return pad2(d.getHours()) + ':' + pad2(d.getMinutes()); };
const hhmmss = (iso) => { const d = new Date(iso); return hhmm(iso) + ':' + pad2(d.getSeconds()); };
function colorOf(region, i) { return COLORS[region] || EXTRA_COLORS[i % EXTRA_COLORS.length]; }

const STATUS_TEXT = { live: 'Live', stale: 'Stale', 'no-data': 'No data yet', down: 'Elasticsearch down', offline: 'Dashboard offline', loading: 'Loading…' };
function setStatus(status) {
  const pill = byId('status');
  pill.dataset.status = status;
  pill.textContent = STATUS_TEXT[status] || status;
  if (status !== lastStatus) { setText('announce', 'Pipeline status: ' + (STATUS_TEXT[status] || status)); lastStatus = status; }
}

function renderTotals(s) {
  setText('total-events', formatCount(s.totals.events));
  setText('total-revenue', formatCents(s.totals.revenue_cents));
  setText('total-purchases', formatCount(s.totals.purchases));
  setText('total-late', formatCount(s.totals.late_events));
  setText('windows-open', formatCount(s.windows.open));
  setText('windows-final', formatCount(s.windows.final));
  const m = s.range.minutes;
  for (const e of document.querySelectorAll('.range-label')) e.textContent = 'last ' + (m >= 120 && m % 60 === 0 ? m / 60 + ' h' : m + ' min');
}

function renderChart(series) {
  const W = 860, H = 380, L = 72, R = 10, T = 10, B = 26;
  const regions = series.regions;
  const n = series.minutes.length;
  const { bands, totals } = stack(regions.map((r) => r.revenue_cents));
  const scale = niceScale(Math.max(0, ...totals), 5);
  const y = (v) => T + (H - T - B) * (1 - v / scale.max);
  const slot = (W - L - R) / Math.max(1, n);
  const plot = byId('plot');
  plot.replaceChildren();
  const empty = !(Math.max(0, ...totals) > 0);
  if (empty) plot.append(svgNode('text', { x: (L + W - R) / 2, y: (T + H - B) / 2, 'text-anchor': 'middle', class: 'empty' }, 'No revenue in this range yet'));
  for (let v = 0; v <= (empty ? 0 : scale.max + 1e-9); v += scale.step) {
    plot.append(svgNode('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), class: v === 0 ? 'axis' : 'grid-line' }));
    plot.append(svgNode('text', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end' }, formatCents(v).replace(/\\.00$/, '')));
  }
  const every = Math.max(1, Math.ceil(n / 8 / 5) * 5);
  series.minutes.forEach((m, i) => {
    const d = new Date(m);
    if (d.getMinutes() % every === 0 || (n <= 10)) {
      plot.append(svgNode('line', { x1: L + slot * (i + 0.5), x2: L + slot * (i + 0.5), y1: H - B, y2: H - B + 4, class: 'axis' }));
      plot.append(svgNode('text', { x: L + slot * (i + 0.5), y: H - 8, 'text-anchor': 'middle' }, hhmm(m)));
    }
  });
  const barWidth = Math.max(1, slot * 0.8);
  regions.forEach((r, s) => {
    const g = svgNode('g', { fill: colorOf(r.region, s) });
    bands[s].forEach(([bottom, top], i) => {
      if (top <= bottom) return;
      const rect = svgNode('rect', { x: L + slot * i + (slot - barWidth) / 2, y: y(top), width: barWidth, height: Math.max(0.5, y(bottom) - y(top)) });
      rect.append(svgNode('title', {}, hhmm(series.minutes[i]) + ' ' + r.region + ': ' + formatCents(r.revenue_cents[i])));
      g.append(rect);
    });
    plot.append(g);
  });

  const legend = byId('legend');
  legend.replaceChildren(...regions.map((r, s) => {
    const li = node('li');
    li.append(node('span', { class: 'swatch', 'aria-hidden': 'true' }), node('span', {}, r.region + ' ' + formatCents(r.total_revenue_cents)));
    li.firstChild.style.background = colorOf(r.region, s);
    return li;
  }));

  const total = totals.reduce((a, b) => a + b, 0);
  let peak = -1;
  totals.forEach((t, i) => { if (t > 0 && (peak < 0 || t > totals[peak])) peak = i; });
  setText('chart-desc', n === 0 ? 'No data.' :
    'Stacked bars, one per minute from ' + hhmm(series.minutes[0]) + ' to ' + hhmm(series.minutes[n - 1]) + '. Total ' + formatCents(total) + ': ' +
    regions.map((r) => r.region + ' ' + formatCents(r.total_revenue_cents)).join(', ') + '. ' +
    (peak < 0 ? 'No revenue in this range.' : 'Highest minute ' + hhmm(series.minutes[peak]) + ' with ' + formatCents(totals[peak]) + '.'));

  const head = node('tr');
  head.append(node('th', { scope: 'col' }, 'Minute'), ...regions.map((r) => node('th', { scope: 'col' }, r.region)), node('th', { scope: 'col' }, 'Total'));
  const rows = [];
  for (let i = n - 1; i >= 0; i--) {
    if (totals[i] === 0 && !regions.some((r) => r.events[i] > 0)) continue;
    const tr = node('tr');
    tr.append(node('th', { scope: 'row' }, hhmm(series.minutes[i])), ...regions.map((r) => node('td', {}, formatCents(r.revenue_cents[i]))), node('td', {}, formatCents(totals[i])));
    rows.push(tr);
  }
  byId('chart-table-head').replaceChildren(head);
  byId('chart-table-body').replaceChildren(...rows);
}

function renderMix(types) {
  const total = types.reduce((a, t) => a + t.events, 0);
  const max = Math.max(1, ...types.map((t) => t.events));
  byId('mix').replaceChildren(...types.map((t) => {
    const li = node('li');
    const row = node('div', { class: 'row' });
    row.append(node('span', { class: 'name' }, t.event_type), node('span', {}, formatCount(t.events) + ' · ' + formatPercent(t.events, total)));
    const track = node('div', { class: 'track', 'aria-hidden': 'true' });
    const bar = node('div', { class: 'bar' });
    bar.style.width = (t.events / max) * 100 + '%';
    track.append(bar);
    li.append(row, track);
    return li;
  }));
}

function renderHealth(h) {
  const es = byId('h-es');
  es.className = h.elasticsearch === 'ok' ? 'ok' : 'bad';
  es.textContent = h.elasticsearch === 'ok' ? '✓ reachable' : '✗ unreachable' + (h.error ? ' (' + h.error + ')' : '');
  const stale = (sec) => sec !== null && sec > h.stale_after_seconds;
  const newest = byId('h-newest');
  newest.className = stale(h.newest_window_age_seconds) ? 'warn' : '';
  newest.textContent = h.newest_window_start ? hhmm(h.newest_window_start) + ' · ' + formatAge(h.newest_window_age_seconds) + ' ago' : '—';
  const fresh = byId('h-fresh');
  fresh.className = stale(h.freshness_seconds) ? 'warn' : '';
  fresh.textContent = h.last_computed_at ? hhmmss(h.last_computed_at) + ' · ' + formatAge(h.freshness_seconds) + ' ago' : '—';
  const notes = {
    live: 'New windows and recomputes within the last ' + formatAge(h.stale_after_seconds) + '.',
    stale: 'Nothing new for over ' + formatAge(h.stale_after_seconds) + ': are events arriving, and is window-aggregate running?',
    'no-data': 'No aggregates yet: generate some events.',
    down: 'Elasticsearch does not answer' + (hasData ? '; showing the last data received.' : '.'),
  };
  setText('health-note', notes[h.status] || '');
  setStatus(h.status);
}

function render(s) {
  hasData = true;
  byId('main').classList.remove('stale');
  renderTotals(s);
  renderChart(s.revenue_per_minute);
  renderMix(s.event_types);
  renderHealth(s.health);
  setText('h-windows', formatCount(s.windows.open) + ' open · ' + formatCount(s.windows.final) + ' final');
  setText('updated', 'Updated ' + hhmmss(s.generated_at));
}

async function refresh() {
  try {
    const res = await fetch('api/summary?minutes=' + minutes, { cache: 'no-store', headers: { accept: 'application/json' } });
    const body = await res.json();
    if (res.ok) render(body);
    else {
      byId('main').classList.add('stale');
      if (body.health) renderHealth(body.health);
      else setStatus('offline');
      if (!hasData) setText('updated', 'No data yet');
    }
  } catch (error) {
    byId('main').classList.add('stale');
    setStatus('offline');
    setText('health-note', 'The dashboard server does not answer; retrying.');
  } finally {
    setTimeout(refresh, REFRESH_MS);
  }
}

const select = byId('minutes');
if (![...select.options].some((o) => Number(o.value) === minutes)) select.append(node('option', { value: minutes }, minutes + ' min'));
select.value = String(minutes);
select.addEventListener('change', () => {
  minutes = Number(select.value);
  const url = new URL(location.href);
  url.searchParams.set('minutes', String(minutes));
  history.replaceState(null, '', url);
  void refresh();
});
void refresh();
`;

export interface PageOptions {
  refreshIntervalMs: number;
}

/** The page's whole script: view.ts's helpers, then the page code. */
export function pageScript(options: PageOptions): string {
  const helpers = Object.entries(browserHelpers).map(([name, fn]) => `const ${name} = ${String(fn)};`);
  return `'use strict';\nconst REFRESH_MS = ${JSON.stringify(options.refreshIntervalMs)};\n${helpers.join('\n')}\n${client}`;
}
