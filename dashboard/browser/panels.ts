/** The page's panels, drawn from /api/summary and /api/stages; every stored name goes in as text. */
import type { StagesReport } from '../stages/types.ts';
import type { Health, Summary } from '../summary.ts';
import { UNKNOWN, clockTime, formatAge, formatCents, formatCount, formatMaybeCount, formatPercent, formatRange, formatRate, formatRatio } from '../view.ts';
import { TimeChart, type Series } from './charts.ts';
import { byId, el, meter, row, setText } from './dom.ts';

const REGION_COLORS: Record<string, string> = { US: '#1d4ed8', EU: '#c2410c', ASIA: '#047857', SA: '#7e22ce' };
const TYPE_COLORS: Record<string, string> = { view: '#0369a1', click: '#a16207', search: '#4d7c0f', purchase: '#be123c' };
const EXTRA_COLORS = ['#475569', '#0e7490', '#9d174d', '#3f6212'];
const colorOf = (known: Record<string, string>, name: string, i: number) => known[name] ?? EXTRA_COLORS[i % EXTRA_COLORS.length]!;

const charts = {
  revenue: new TimeChart(byId('chart-revenue'), { kind: 'lines', format: (v) => formatCents(v).replace(/\.00$/, ''), height: 240 }),
  types: new TimeChart(byId('chart-types'), { kind: 'lines', format: formatCount, integer: true }),
  late: new TimeChart(byId('chart-late'), { kind: 'bars', format: formatCount, integer: true }),
};

export function renderTotals(s: Summary): void {
  setText('total-events', formatCount(s.totals.events));
  setText('total-revenue', formatCents(s.totals.revenue_cents));
  setText('total-purchases', formatCount(s.totals.purchases));
  setText('total-conversion', formatRatio(s.totals.conversion_rate));
  setText('total-late', formatCount(s.totals.late_events));
  setText('windows-open', formatCount(s.windows.open));
  setText('windows-final', formatCount(s.windows.final));
  for (const e of document.querySelectorAll('.range-label')) e.textContent = formatRange(s.range.minutes);
}

/** The chart, its one-sentence description, and its table (newest minute first, empty minutes left out). */
function renderSeries(id: string, chart: TimeChart, minutes: string[], series: Series[], format: (v: number) => string, describe: string): void {
  chart.update(minutes, series);
  setText(`${id}-desc`, describe);
  const head = byId(`${id}-head`);
  head.replaceChildren(row(['Minute', ...series.map((s) => s.label)]));
  const body = byId(`${id}-body`);
  const rows: HTMLTableRowElement[] = [];
  for (let i = minutes.length - 1; i >= 0; i--) {
    if (series.every((s) => !s.values[i])) continue;
    rows.push(row([clockTime(minutes[i]!), ...series.map((s) => format(s.values[i] ?? 0))]));
  }
  body.replaceChildren(...rows);
}

const totalOf = (values: number[]) => values.reduce((a, b) => a + b, 0);

export function renderCharts(s: Summary): void {
  const { minutes } = s.per_minute;
  const regions = s.per_minute.revenue_by_region.map((r, i) => ({ label: r.region, color: colorOf(REGION_COLORS, r.region, i), values: r.revenue_cents }));
  renderSeries('chart-revenue', charts.revenue, minutes, regions, formatCents,
    `Revenue per minute, one line per region: ${regions.map((r) => `${r.label} ${formatCents(totalOf(r.values))}`).join(', ')}.`);
  const types = s.per_minute.events_by_type.map((t, i) => ({ label: t.event_type, color: colorOf(TYPE_COLORS, t.event_type, i), values: t.events }));
  renderSeries('chart-types', charts.types, minutes, types, formatCount,
    `Events per minute, one line per event type: ${types.map((t) => `${t.label} ${formatCount(totalOf(t.values))}`).join(', ')}.`);
  const late = [{ label: 'late events', color: '#b45309', values: s.per_minute.late_events }];
  renderSeries('chart-late', charts.late, minutes, late, formatCount, `Late events per minute; ${formatCount(s.totals.late_events)} in all.`);
}

export function renderMix(s: Summary): void {
  const total = s.event_types.reduce((a, t) => a + t.events, 0);
  byId('mix').replaceChildren(
    ...s.event_types.map((t, i) => {
      const li = el('li');
      const line = el('div', { class: 'row' });
      line.append(el('span', { class: 'name' }, t.event_type), el('span', {}, `${formatCount(t.events)} · ${formatPercent(t.events, total)}`));
      li.append(line, meter(total > 0 ? t.events / total : 0, colorOf(TYPE_COLORS, t.event_type, i)));
      return li;
    }),
  );
}

export function renderProducts(s: Summary): void {
  const top = s.top_categories.slice(0, 10);
  const most = Math.max(1, ...top.map((c) => c.revenue_cents));
  byId('categories').replaceChildren(
    ...top.map((c) => {
      const tr = row([c.name, formatCents(c.revenue_cents), formatCount(c.purchases), formatCount(c.events)], ['name']);
      const cell = el('td', { class: 'bar-cell' });
      cell.append(meter(c.revenue_cents / most));
      tr.append(cell);
      return tr;
    }),
  );
  if (top.length === 0) byId('categories').append(row(['No events in this view', '', '', '', '']));
  const brands = s.top_brands.slice(0, 8);
  byId('brands').replaceChildren(...brands.map((b) => row([b.name, formatCents(b.revenue_cents), formatCount(b.events)], ['name'])));
  if (brands.length === 0) byId('brands').append(row(['No events in this view', '', '']));
}

export function renderStages(report: StagesReport): void {
  setText('stages-origin', report.origin === 'none' ? '' : `from the ${report.origin}${report.at ? ` at ${clockTime(report.at, true)}` : ''}`);
  const cls = (v: string) => (v === UNKNOWN ? 'unknown' : undefined);
  byId('stages').replaceChildren(
    ...report.stages.map((st) => {
      const cells = [
        st.function,
        st.source ? `${st.source} (${st.topic ?? UNKNOWN})` : 'HTTP and PingSource',
        formatMaybeCount(st.lag),
        st.vreplicas === null ? UNKNOWN : `${formatCount(st.vreplicas)}${st.maxVReplicas === null ? '' : ` / ${formatCount(st.maxVReplicas)}`}`,
        formatMaybeCount(st.dispatcherPods),
        formatMaybeCount(st.consumers),
        formatMaybeCount(st.instances),
        formatRate(st.inPerSecond),
        formatRate(st.outPerSecond),
        formatMaybeCount(st.deadLetters),
      ];
      return row(cells, ['name', 'name', ...cells.slice(2).map(cls)]);
    }),
  );
  if (report.stages.length === 0) byId('stages').append(row(['No stages to show', '', '', '', '', '', '', '', '', '']));
  const notes = [report.error ? `${report.error}.` : '', report.deadLetterNote ? `Dead letters: ${report.deadLetterNote}.` : '', '— means not known, not zero.'].filter(Boolean);
  setText('stages-note', notes.join(' '));
}

const STATUS_TEXT: Record<string, string> = { live: 'Live', stale: 'Stale', 'no-data': 'No data yet', down: 'Elasticsearch unreachable', offline: 'Dashboard offline', loading: 'Loading…' };
let lastStatus = '';

export function setStatus(status: string): void {
  const pill = byId('status');
  pill.dataset['status'] = status;
  pill.textContent = STATUS_TEXT[status] ?? status;
  if (status !== lastStatus) {
    setText('announce', `Pipeline status: ${STATUS_TEXT[status] ?? status}`);
    lastStatus = status;
  }
}

export function renderHealth(h: Health, hasData: boolean): void {
  const es = byId('h-es');
  es.className = h.elasticsearch === 'ok' ? 'ok' : 'bad';
  es.textContent = h.elasticsearch === 'ok' ? '✓ reachable' : `✗ unreachable${h.error ? ` (${h.error})` : ''}`;
  const stale = (sec: number | null) => sec !== null && sec > h.stale_after_seconds;
  const newest = byId('h-newest');
  newest.className = stale(h.newest_window_age_seconds) ? 'warn' : '';
  newest.textContent = h.newest_window_start ? `${clockTime(h.newest_window_start)} · ${formatAge(h.newest_window_age_seconds)} ago` : UNKNOWN;
  const fresh = byId('h-fresh');
  fresh.className = stale(h.freshness_seconds) ? 'warn' : '';
  fresh.textContent = h.last_computed_at ? `${clockTime(h.last_computed_at, true)} · ${formatAge(h.freshness_seconds)} ago` : UNKNOWN;
  const notes: Record<string, string> = {
    live: `New windows and recomputes within the last ${formatAge(h.stale_after_seconds)}.`,
    stale: `Nothing new for over ${formatAge(h.stale_after_seconds)}: are events arriving, and is window-aggregate running?`,
    'no-data': 'No aggregates yet: generate some events.',
    down: `Elasticsearch unreachable${hasData ? '; showing the last data received.' : '.'}`,
  };
  setText('health-note', notes[h.status] ?? '');
  setStatus(h.status);
}
