import { describe, expect, it } from 'vitest';
import { buildPageAssets } from '../dashboard/browser/bundle.mjs';
import { filtersKey, termFilters } from '../dashboard/filters.ts';
import { renderPage } from '../dashboard/page.ts';
import { CLUSTER_QUERIES, sourceInfoOf, stagesOfCluster } from '../dashboard/stages/cluster.ts';
import { countersOf, ratesBetween, stagesOfState } from '../dashboard/stages/local.ts';
import { byLabel } from '../dashboard/stages/prometheus.ts';
import { aggregatesRequest, productsRequest, rangeOf } from '../dashboard/summary-request.ts';
import { healthStatus, orderedNames, summaryOf } from '../dashboard/summary.ts';
import { formatAge, formatCents, formatCount, formatMaybeCount, formatPercent, formatRange, formatRate, formatRatio } from '../dashboard/view.ts';
import type { RuntimeState } from '../cli/dev/state.ts';

describe('dashboard formatting (bundled into the page)', () => {
  it('shows cents as dollars with two decimals and separators', () => {
    expect(formatCents(0)).toBe('$0.00');
    expect(formatCents(5)).toBe('$0.05');
    expect(formatCents(1999)).toBe('$19.99');
    expect(formatCents(123_456_789)).toBe('$1,234,567.89');
    expect(formatCents(-1050)).toBe('-$10.50');
    expect(formatCents(1999.6)).toBe('$20.00');
  });

  it('shows counts, shares, ratios, rates, ranges and ages', () => {
    expect(formatCount(0)).toBe('0');
    expect(formatCount(1_234_567)).toBe('1,234,567');
    expect(formatPercent(1, 3)).toBe('33.3%');
    expect(formatPercent(0, 0)).toBe('0.0%');
    expect(formatRatio(6 / 11)).toBe('54.55%');
    expect(formatRatio(null)).toBe('—');
    expect(formatRate(null)).toBe('—');
    expect(formatRate(0)).toBe('0/s');
    expect(formatRate(0.25)).toBe('0.3/s');
    expect(formatRate(1234.4)).toBe('1,234/s');
    expect(formatMaybeCount(null)).toBe('—');
    expect(formatMaybeCount(Number.NaN)).toBe('—');
    expect(formatMaybeCount(0)).toBe('0');
    expect(formatRange(15)).toBe('last 15 min');
    expect(formatRange(180)).toBe('last 3 h');
    expect(formatRange(90)).toBe('last 90 min');
    expect(formatAge(null)).toBe('—');
    expect(formatAge(185)).toBe('3 min 05 s');
    expect(formatAge(7620)).toBe('2 h 07 min');
  });
});

describe('dashboard filters and searches', () => {
  const now = Date.parse('2026-11-24T12:03:30.000Z');
  const range = rangeOf(3, now);

  it('covers the last N windows, the current one included, with the region and event type as term filters', () => {
    expect(range).toEqual({ minutes: 3, fromMs: Date.parse('2026-11-24T12:01:00.000Z'), toMs: Date.parse('2026-11-24T12:04:00.000Z') });
    const window = { range: { window_start: { gte: '2026-11-24T12:01:00.000Z', lt: '2026-11-24T12:04:00.000Z' } } };
    expect(aggregatesRequest('events-aggregated', range, { minutes: 3 }).query).toEqual({ bool: { filter: [window] } });
    const filters = { minutes: 3, region: 'EU' as const, event_type: 'purchase' as const };
    expect(termFilters(filters)).toEqual([{ term: { region: 'EU' } }, { term: { event_type: 'purchase' } }]);
    expect(productsRequest('events', range, filters)).toMatchObject({ index: 'events', ignore_unavailable: true, query: { bool: { filter: [window, ...termFilters(filters)] } } });
  });

  it('keys the cache by every filter', () => {
    const keys = [{ minutes: 60 }, { minutes: 15 }, { minutes: 60, region: 'EU' as const }, { minutes: 60, event_type: 'view' as const }, { minutes: 60, region: 'EU' as const, event_type: 'view' as const }].map(filtersKey);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('orders known names first, then the others by name', () => {
    expect(orderedNames(['US', 'EU'], ['OC', 'EU', 'AF', 'OC'])).toEqual(['US', 'EU', 'AF', 'OC']);
  });
});

describe('dashboard summary shaping', () => {
  const now = Date.parse('2026-11-24T12:03:30.000Z');
  const range = rangeOf(3, now);
  const v = (value: number) => ({ value });
  const bucket = (iso: string, open: number, late: number, regions: [string, number, number][], types: [string, number][]) => ({
    key: Date.parse(iso),
    open: { doc_count: open },
    late_events: v(late),
    by_region: { buckets: regions.map(([key, events, cents]) => ({ key, doc_count: 1, events: v(events), revenue_cents: v(cents) })) },
    by_type: { buckets: types.map(([key, events]) => ({ key, doc_count: 1, events: v(events) })) },
  });
  const aggregates = {
    aggregations: {
      events: v(20),
      revenue_cents: v(4497),
      late_events: v(1),
      last_computed_at: v(now - 4000),
      by_type: { buckets: [{ key: 'purchase', doc_count: 2, events: v(3), revenue_cents: v(4497) }, { key: 'view', doc_count: 2, events: v(16), revenue_cents: v(0) }, { key: 'click', doc_count: 1, events: v(1), revenue_cents: v(0) }] },
      per_minute: {
        buckets: [
          bucket('2026-11-24T12:01:00.000Z', 0, 1, [['EU', 12, 1999]], [['view', 10], ['purchase', 2]]),
          bucket('2026-11-24T12:03:00.000Z', 1, 0, [['US', 7, 2498], ['OC', 1, 0]], [['view', 6], ['purchase', 1], ['click', 1]]),
        ],
      },
      everything: { newest_window: v(Date.parse('2026-11-24T12:03:00.000Z')), last_computed_at: v(now - 4000) },
    } as never,
  };
  const products = {
    aggregations: {
      categories: { buckets: [{ key: 'books', doc_count: 9, purchases: { doc_count: 1 }, revenue_cents: v(1999) }, { key: '<script>alert(1)</script>', doc_count: 11, purchases: { doc_count: 2 }, revenue_cents: v(2498) }, { key: 'toys', doc_count: 3, purchases: { doc_count: 0 }, revenue_cents: v(0) }] },
      brands: { buckets: [{ key: 'Acme', doc_count: 20, revenue_cents: v(4497) }] },
    } as never,
  };

  it('gives totals, conversion, every minute of every region and type, late events and top categories', () => {
    const s = summaryOf(aggregates, products, range, { minutes: 3 }, now, 180);
    expect(s.filters).toEqual({ region: null, event_type: null });
    expect(s.totals).toEqual({ events: 20, revenue_cents: 4497, purchases: 3, views: 16, conversion_rate: 3 / 16, late_events: 1 });
    expect(s.windows).toEqual({ open: 1, final: 1, last_computed_at: '2026-11-24T12:03:26.000Z' });
    expect(s.per_minute.minutes).toEqual(['2026-11-24T12:01:00.000Z', '2026-11-24T12:02:00.000Z', '2026-11-24T12:03:00.000Z']);
    expect(s.per_minute.revenue_by_region.map((r) => [r.region, r.revenue_cents, r.events, r.total_revenue_cents])).toEqual([
      ['US', [0, 0, 2498], [0, 0, 7], 2498],
      ['EU', [1999, 0, 0], [12, 0, 0], 1999],
      ['ASIA', [0, 0, 0], [0, 0, 0], 0],
      ['SA', [0, 0, 0], [0, 0, 0], 0],
      ['OC', [0, 0, 0], [0, 0, 1], 0],
    ]);
    expect(s.per_minute.events_by_type).toEqual([
      { event_type: 'view', events: [10, 0, 6] },
      { event_type: 'click', events: [0, 0, 1] },
      { event_type: 'search', events: [0, 0, 0] },
      { event_type: 'purchase', events: [2, 0, 1] },
    ]);
    expect(s.per_minute.late_events).toEqual([1, 0, 0]);
    expect(s.event_types.map((t) => [t.event_type, t.events])).toEqual([['view', 16], ['click', 1], ['search', 0], ['purchase', 3]]);
    expect(s.top_categories.map((c) => [c.name, c.revenue_cents, c.purchases, c.events])).toEqual([
      ['<script>alert(1)</script>', 2498, 2, 11],
      ['books', 1999, 1, 9],
      ['toys', 0, 0, 3],
    ]);
    expect(s.top_brands).toEqual([{ name: 'Acme', events: 20, revenue_cents: 4497 }]);
    expect(s.health).toMatchObject({ status: 'live', elasticsearch: 'ok', newest_window_age_seconds: 30, freshness_seconds: 4 });
  });

  it('shows only the filtered region and event type as series', () => {
    const s = summaryOf(aggregates, products, range, { minutes: 3, region: 'US', event_type: 'view' }, now, 180);
    expect(s.filters).toEqual({ region: 'US', event_type: 'view' });
    expect(s.per_minute.revenue_by_region.map((r) => r.region)).toEqual(['US']);
    expect(s.per_minute.events_by_type.map((t) => t.event_type)).toEqual(['view']);
    expect(s.event_types.map((t) => t.event_type)).toEqual(['view']);
  });

  it('answers an empty or missing index with zeros, no conversion and no data', () => {
    const s = summaryOf({}, {}, range, { minutes: 3 }, now, 180);
    expect(s.totals).toEqual({ events: 0, revenue_cents: 0, purchases: 0, views: 0, conversion_rate: null, late_events: 0 });
    expect(s.windows).toEqual({ open: 0, final: 0, last_computed_at: null });
    expect(s.per_minute.revenue_by_region.every((r) => r.revenue_cents.length === 3 && r.revenue_cents.every((c) => c === 0))).toBe(true);
    expect(s.top_categories).toEqual([]);
    expect(s.health).toMatchObject({ status: 'no-data', newest_window_start: null, freshness_seconds: null });
  });

  it('is stale when no new window or no recompute came for too long', () => {
    expect(healthStatus(30, 2, 180)).toBe('live');
    expect(healthStatus(181, 2, 180)).toBe('stale');
    expect(healthStatus(30, 181, 180)).toBe('stale');
    expect(healthStatus(null, null, 180)).toBe('no-data');
  });
});

describe('dashboard stages', () => {
  const state = {
    at: '2026-11-24T12:00:00.000Z',
    dispatcher: { pods: 2 },
    sources: [
      { name: 'enrich-source', topics: ['data-stream'], sink: 'enrich', consumerGroup: 'g-enrich', lag: 120, vreplicas: 3, maxScale: 4, placements: [{ podName: 'p0', vreplicas: 2 }, { podName: 'p1', vreplicas: 1 }], members: 2, autoscalerSince: 0, delivered: 500, deadLettered: 4, retries: 0, inFlight: 1 },
      { name: 'index-source', topics: ['events-enriched'], sink: 'index', consumerGroup: 'g-index', lag: Number.NaN, vreplicas: 0, maxScale: 4, placements: [], members: 0, autoscalerSince: null, delivered: 0, deadLettered: 0, retries: 0, inFlight: 0 },
    ],
    services: [
      { name: 'generate', url: 'http://127.0.0.1:8080', instances: 1, desired: 1, ready: 1, inFlight: 0, restarts: 0, requests: 3, ports: [8081] },
      { name: 'enrich', url: 'http://127.0.0.1:8100', instances: 2, desired: 2, ready: 2, inFlight: 0, restarts: 0, requests: 500, ports: [8101, 8102] },
      { name: 'index', url: 'http://127.0.0.1:8120', instances: 0, desired: 0, ready: 0, inFlight: 0, restarts: 0, requests: 0, ports: [] },
    ],
    decisions: [],
    events: [],
  } as unknown as RuntimeState;

  it('maps the local runtime state per function; what it does not know stays unknown', () => {
    const stages = stagesOfState(state, (name) => (name === 'enrich' ? { in: 50, out: 49.5 } : { in: null, out: null }));
    expect(stages).toEqual([
      { function: 'generate', source: null, topic: null, lag: null, vreplicas: null, maxVReplicas: null, dispatcherPods: null, consumers: null, instances: 1, inPerSecond: null, outPerSecond: null, deadLetters: null },
      { function: 'enrich', source: 'enrich-source', topic: 'data-stream', lag: 120, vreplicas: 3, maxVReplicas: 4, dispatcherPods: 2, consumers: 2, instances: 2, inPerSecond: 50, outPerSecond: 49.5, deadLetters: 4 },
      { function: 'index', source: 'index-source', topic: 'events-enriched', lag: null, vreplicas: 0, maxVReplicas: 4, dispatcherPods: 0, consumers: 0, instances: 0, inPerSecond: null, outPerSecond: null, deadLetters: 0 },
    ]);
  });

  it('sums the functions’ counters from their Prometheus text and rates them between two reads', () => {
    const text = [
      '# HELP pipeline_events_in_total CloudEvents received',
      '# TYPE pipeline_events_in_total counter',
      'pipeline_events_in_total{function="enrich",type="t",outcome="ok"} 90',
      'pipeline_events_in_total{function="enrich",type="t",outcome="bad_request"} 10',
      '# TYPE pipeline_events_out_total counter',
      'pipeline_events_out_total{function="enrich",destination="events-enriched"} 90',
      '# TYPE process_cpu_user_seconds_total counter',
      'process_cpu_user_seconds_total 3',
    ].join('\n');
    expect(countersOf(text)).toEqual({ in: 100, out: 90 });
    const first = { atMs: 0, byFunction: new Map([['enrich', { in: 100, out: 90 }]]) };
    const second = { atMs: 2000, byFunction: new Map([['enrich', { in: 200, out: 150 }]]) };
    expect(ratesBetween(undefined, first, 'enrich')).toEqual({ in: null, out: null });
    expect(ratesBetween(first, second, 'enrich')).toEqual({ in: 50, out: 30 });
    // An instance retired with its counts: the sum fell, no rate for this interval.
    expect(ratesBetween(second, { atMs: 4000, byFunction: new Map([['enrich', { in: 120, out: 160 }]]) }, 'enrich')).toEqual({ in: null, out: 5 });
    expect(ratesBetween(first, second, 'index')).toEqual({ in: null, out: null });
  });

  it('reads a KafkaSource and its ConsumerGroup as Knative writes them', () => {
    const source = {
      metadata: { name: 'enrich-source', uid: 'u-1', annotations: { 'autoscaling.eventing.knative.dev/max-scale': '4' } },
      spec: { consumerGroup: 'big-data-pipeline-enrich', topics: ['data-stream'], sink: { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'enrich' } } },
    };
    const group = { metadata: { name: 'u-1' }, spec: { replicas: 3 }, status: { placements: [{ podName: 'kafka-source-dispatcher-0', vreplicas: 2 }, { podName: 'kafka-source-dispatcher-1', vreplicas: 1 }] } };
    expect(sourceInfoOf(source, group)).toEqual({ name: 'enrich-source', sink: 'enrich', topics: ['data-stream'], consumerGroup: 'big-data-pipeline-enrich', maxScale: 4, vreplicas: 3, placements: 2 });
    expect(sourceInfoOf(source, undefined)).toMatchObject({ vreplicas: null, placements: null });
  });

  it('combines Prometheus and the Kubernetes API; a failed query leaves its columns unknown', () => {
    const enrich = { name: 'enrich-source', sink: 'enrich', topics: ['data-stream'], consumerGroup: 'big-data-pipeline-enrich', maxScale: 4, vreplicas: 3, placements: 2 };
    const metrics = {
      lag: byLabel([{ metric: { consumergroup: 'big-data-pipeline-enrich' }, value: [1, '1200'] }], 'consumergroup'),
      consumers: byLabel([{ metric: { consumergroup: 'big-data-pipeline-enrich' }, value: [1, '2'] }], 'consumergroup'),
      instances: byLabel([{ metric: { knative_service: 'enrich' }, value: [1, '2'] }], 'knative_service'),
      inRate: byLabel([{ metric: { function: 'enrich' }, value: [1, '40.5'] }, { metric: { function: 'generate' }, value: [1, 'NaN'] }], 'function'),
      rejected: byLabel([{ metric: { function: 'enrich' }, value: [1, '2.9999'] }], 'function'),
    };
    expect(stagesOfCluster(['generate', 'enrich'], [enrich], metrics)).toEqual([
      { function: 'enrich', source: 'enrich-source', topic: 'data-stream', lag: 1200, vreplicas: 3, maxVReplicas: 4, dispatcherPods: 2, consumers: 2, instances: 2, inPerSecond: 40.5, outPerSecond: null, deadLetters: 3 },
      // Scaled to zero: no series while Prometheus answered, so none; no source, so no lag or dead letters.
      { function: 'generate', source: null, topic: null, lag: null, vreplicas: null, maxVReplicas: null, dispatcherPods: null, consumers: null, instances: 0, inPerSecond: 0, outPerSecond: null, deadLetters: null },
    ]);
    expect(Object.keys(CLUSTER_QUERIES).sort()).toEqual(['consumers', 'inRate', 'instances', 'lag', 'outRate', 'rejected']);
  });
});

describe('dashboard page', () => {
  it('loads only its own script and style, allowed by origin in the CSP', () => {
    const { html, csp } = renderPage({ refreshIntervalMs: 2000 });
    expect(html).toContain('<script defer src="app.js"></script>');
    expect(html).toContain('<link rel="stylesheet" href="app.css">');
    expect(html).toContain('data-refresh-ms="2000"');
    expect(html).not.toMatch(/<script>|<style|style="|\son[a-z]+=|https?:\/\//);
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).not.toContain('unsafe');
  });

  it('labels every filter control and offers every region and event type', () => {
    const { html } = renderPage({ refreshIntervalMs: 2000 });
    for (const id of ['f-minutes', 'f-region', 'f-event-type']) expect(html).toContain(`<label for="${id}">`);
    for (const value of ['US', 'EU', 'ASIA', 'SA', 'click', 'view', 'purchase', 'search']) expect(html).toContain(`<option value="${value}">`);
  });

  it('bundles a script that parses and never writes markup', async () => {
    const { js, css } = await buildPageAssets();
    expect(() => new Function(js)).not.toThrow();
    expect(js).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
    expect(css).toContain('.u-legend');
  });
});
