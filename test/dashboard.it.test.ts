import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { build, configSchema } from '../dashboard/app.ts';
import type { StageReader } from '../dashboard/stages/types.ts';
import { aggregateDocs, cellKey } from '../functions/window-aggregate/aggregate.ts';
import { loadConfig } from '../shared/config.ts';
import { deletePipelineIndices, esClientFor } from '../shared/elasticsearch.ts';
import { aggregateId, windowStartOf } from '../shared/window.ts';
import { UNREACHABLE, esClient, isolatedEnv, preparePlatform } from './helpers.ts';

/** The page's script and style are tested in the browser test; here any text will do. */
const assets = { js: '/* page script */', css: '/* page style */' };

function dashboard(env: Record<string, string>, now: () => number, stages?: StageReader): FastifyInstance {
  const config = loadConfig(configSchema, env);
  return build(config, { es: esClientFor(config), now, assets, ...(stages ? { stages } : {}) });
}

describe('dashboard on real Elasticsearch aggregates', () => {
  const env = isolatedEnv({ SUMMARY_CACHE_MS: '0' });
  const es = esClient();
  // Half-way through the current window; every window below is relative to it.
  const nowMs = windowStartOf(Date.now()) + 30_000;
  const w = (minutesAgo: number) => new Date(windowStartOf(nowMs) - minutesAgo * 60_000).toISOString();
  let server: FastifyInstance;

  type Cell = { at: number; event_type: string; region: string; count: number; revenue_cents: number; status: 'open' | 'final'; late_events?: number; computed_ago_ms: number };
  const cells: Cell[] = [
    { at: 2, event_type: 'purchase', region: 'EU', count: 3, revenue_cents: 5997, status: 'final', late_events: 1, computed_ago_ms: 40_000 },
    { at: 2, event_type: 'view', region: 'EU', count: 10, revenue_cents: 0, status: 'final', computed_ago_ms: 40_000 },
    { at: 2, event_type: 'purchase', region: 'US', count: 1, revenue_cents: 1999, status: 'final', computed_ago_ms: 40_000 },
    { at: 1, event_type: 'purchase', region: 'SA', count: 2, revenue_cents: 2500, status: 'open', computed_ago_ms: 20_000 },
    { at: 1, event_type: 'click', region: 'ASIA', count: 4, revenue_cents: 0, status: 'open', computed_ago_ms: 20_000 },
    { at: 1, event_type: 'view', region: 'OC', count: 1, revenue_cents: 0, status: 'open', computed_ago_ms: 20_000 },
    { at: 0, event_type: 'search', region: 'US', count: 5, revenue_cents: 0, status: 'open', computed_ago_ms: 2000 },
    // Outside a 3-minute range, inside a 10-minute one.
    { at: 5, event_type: 'purchase', region: 'EU', count: 7, revenue_cents: 10_000, status: 'final', computed_ago_ms: 200_000 },
  ];

  beforeAll(async () => {
    await preparePlatform(env);
    server = dashboard(env, () => nowMs);
    await es.bulk({
      refresh: true,
      // The documents exactly as window-aggregate writes them, one cell at a time.
      operations: cells.flatMap((c) => {
        const windowStartMs = Date.parse(w(c.at));
        const computedAtMs = nowMs - c.computed_ago_ms;
        const cell = { event_type: c.event_type, region: c.region, count: c.count, revenue_cents: c.revenue_cents, quantity: c.count, price_cents_sum: c.revenue_cents, unique_users: 1, max_indexed_at: computedAtMs - 500 };
        const finals = c.status === 'final' ? { [cellKey(c.event_type, c.region)]: c.count - (c.late_events ?? 0) } : undefined;
        return aggregateDocs(windowStartMs, [cell], finals, computedAtMs).flatMap((doc) => [
          { index: { _index: env.AGGREGATES_INDEX!, _id: aggregateId(doc.window_start, doc.event_type, doc.region) } },
          doc,
        ]);
      }),
    });
  });
  afterAll(async () => {
    await server.close();
    await deletePipelineIndices(es, { EVENTS_INDEX: env.EVENTS_INDEX!, AGGREGATES_INDEX: env.AGGREGATES_INDEX!, FINALS_INDEX: env.FINALS_INDEX! });
    await es.close();
  });

  it('sums totals, windows and late events over the range', async () => {
    const res = await server.inject({ method: 'GET', url: '/api/summary?minutes=3' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const summary = res.json();
    expect(summary.range).toEqual({ minutes: 3, from: w(2), to: new Date(windowStartOf(nowMs) + 60_000).toISOString() });
    // 3 + 10 + 1 + 2 + 4 + 1 + 5 events; 5997 + 1999 + 2500 cents; 3 + 1 + 2 purchases.
    expect(summary.totals).toEqual({ events: 26, revenue_cents: 10_496, purchases: 6, views: 11, conversion_rate: 6 / 11, late_events: 1 });
    // w(2) is final; w(1) and the current window are open.
    expect(summary.windows).toEqual({ open: 2, final: 1, last_computed_at: new Date(nowMs - 2000).toISOString() });
  });

  it('gives revenue per minute for every region, zeros included', async () => {
    const summary = (await server.inject({ method: 'GET', url: '/api/summary?minutes=3' })).json();
    expect(summary.per_minute.minutes).toEqual([w(2), w(1), w(0)]);
    expect(summary.per_minute.late_events).toEqual([1, 0, 0]);
    expect(summary.per_minute.revenue_by_region).toEqual([
      { region: 'US', revenue_cents: [1999, 0, 0], events: [1, 0, 5], total_revenue_cents: 1999 },
      { region: 'EU', revenue_cents: [5997, 0, 0], events: [13, 0, 0], total_revenue_cents: 5997 },
      { region: 'ASIA', revenue_cents: [0, 0, 0], events: [0, 4, 0], total_revenue_cents: 0 },
      { region: 'SA', revenue_cents: [0, 2500, 0], events: [0, 2, 0], total_revenue_cents: 2500 },
      { region: 'OC', revenue_cents: [0, 0, 0], events: [0, 1, 0], total_revenue_cents: 0 },
    ]);
  });

  it('gives the event-type mix', async () => {
    const summary = (await server.inject({ method: 'GET', url: '/api/summary?minutes=3' })).json();
    expect(summary.event_types).toEqual([
      { event_type: 'view', events: 11, revenue_cents: 0 },
      { event_type: 'click', events: 4, revenue_cents: 0 },
      { event_type: 'search', events: 5, revenue_cents: 0 },
      { event_type: 'purchase', events: 6, revenue_cents: 10_496 },
    ]);
  });

  it('reports the pipeline live from the newest window and the last recompute', async () => {
    const summary = (await server.inject({ method: 'GET', url: '/api/summary?minutes=3' })).json();
    expect(summary.health).toEqual({
      status: 'live',
      elasticsearch: 'ok',
      newest_window_start: w(0),
      newest_window_age_seconds: 30,
      last_computed_at: new Date(nowMs - 2000).toISOString(),
      freshness_seconds: 2,
      stale_after_seconds: 180,
    });
  });

  it('widens the range on request (60 minutes by default)', async () => {
    const ten = (await server.inject({ method: 'GET', url: '/api/summary?minutes=10' })).json();
    expect(ten.totals).toEqual({ events: 33, revenue_cents: 20_496, purchases: 13, views: 11, conversion_rate: 13 / 11, late_events: 1 });
    expect(ten.windows).toMatchObject({ open: 2, final: 2 });
    expect(ten.per_minute.minutes).toHaveLength(10);
    const byDefault = (await server.inject({ method: 'GET', url: '/api/summary' })).json();
    expect(byDefault.range.minutes).toBe(60);
    expect(byDefault.totals).toEqual(ten.totals);
  });

  it('follows the region and event-type filters in every number', async () => {
    const eu = (await server.inject({ url: '/api/summary?minutes=10&region=EU' })).json();
    expect(eu.filters).toEqual({ region: 'EU', event_type: null });
    // 3 + 10 + 7 events in EU; 5997 + 10000 cents; 3 + 7 purchases over 10 views.
    expect(eu.totals).toEqual({ events: 20, revenue_cents: 15_997, purchases: 10, views: 10, conversion_rate: 1, late_events: 1 });
    expect(eu.per_minute.revenue_by_region.map((r: { region: string }) => r.region)).toEqual(['EU']);
    expect(eu.windows).toMatchObject({ open: 0, final: 2 });
    const usPurchases = (await server.inject({ url: '/api/summary?minutes=3&region=US&event_type=purchase' })).json();
    expect(usPurchases.totals).toEqual({ events: 1, revenue_cents: 1999, purchases: 1, views: 0, conversion_rate: null, late_events: 0 });
    const views = (await server.inject({ url: '/api/summary?minutes=3&event_type=view' })).json();
    expect(views.totals).toMatchObject({ events: 11, revenue_cents: 0, purchases: 0, views: 11, conversion_rate: 0 });
    expect(views.event_types).toEqual([{ event_type: 'view', events: 11, revenue_cents: 0 }]);
  });

  it('answers 400 JSON for a range, region or event type it does not serve', async () => {
    for (const query of ['minutes=0', 'minutes=1441', 'minutes=soon', 'minutes=2.5', 'region=OC', 'region=eu', 'event_type=refund', 'region=%3Cscript%3E']) {
      const res = await server.inject({ method: 'GET', url: `/api/summary?${query}` });
      expect(res.statusCode, query).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
    }
  });

  it('serves the stages of the pipeline it is given, and says when it has none', async () => {
    const none = (await server.inject({ url: '/api/stages' })).json();
    expect(none).toMatchObject({ origin: 'none', stages: [] });
    expect(none.error).toMatch(/RUNTIME_STATE_FILE/);
    const report = { origin: 'test', at: null, stages: [], deadLetterNote: '' };
    const withStages = dashboard(env, () => nowMs, { read: async () => report });
    try {
      expect((await withStages.inject({ url: '/api/stages' })).json()).toEqual(report);
    } finally {
      await withStages.close();
    }
  });

  it('serves the page with every panel, and its own script and style', async () => {
    const res = await server.inject({ method: 'GET', url: '/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['content-security-policy']).toMatch(/^default-src 'none'; script-src 'self'; style-src 'self'/);
    const html = res.body;
    for (const id of ['total-events', 'total-revenue', 'total-purchases', 'total-conversion', 'total-late', 'windows-open', 'windows-final', 'chart-revenue', 'chart-types', 'chart-late', 'mix', 'categories', 'brands', 'stages', 'h-es', 'h-newest', 'h-fresh']) {
      expect(html).toContain(`id="${id}"`);
    }
    expect(html).toContain('data-refresh-ms="2000"');
    const js = await server.inject({ url: '/app.js' });
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.body).toBe(assets.js);
    const css = await server.inject({ url: '/app.css' });
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
    expect(css.body).toBe(assets.css);
  });

  it('shares one search between pages polling within SUMMARY_CACHE_MS', async () => {
    const config = loadConfig(configSchema, { ...env, SUMMARY_CACHE_MS: '60000' });
    const client = esClientFor(config);
    const search = vi.spyOn(client, 'search');
    let clock = nowMs;
    const cached = build(config, { es: client, now: () => clock, assets });
    try {
      const [a, b] = await Promise.all([cached.inject({ url: '/api/summary?minutes=3' }), cached.inject({ url: '/api/summary?minutes=3' })]);
      expect(a.json()).toEqual(b.json());
      await cached.inject({ url: '/api/summary?minutes=3' });
      // Two searches per view: the aggregates and the events' categories.
      expect(search).toHaveBeenCalledTimes(2);
      await cached.inject({ url: '/api/summary?minutes=3&region=EU' });
      expect(search).toHaveBeenCalledTimes(4);
      clock += 60_000;
      await cached.inject({ url: '/api/summary?minutes=3' });
      expect(search).toHaveBeenCalledTimes(6);
    } finally {
      await cached.close();
    }
  });

  it('serves health probes and Prometheus metrics', async () => {
    expect((await server.inject({ url: '/health/liveness' })).json()).toEqual({ status: 'alive' });
    const ready = await server.inject({ url: '/health/readiness' });
    expect(ready.statusCode).toBe(200);
    const metrics = await server.inject({ url: '/metrics' });
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toMatch(/^dashboard_summary_duration_seconds_count\{[^}]*outcome="ok"[^}]*\} [1-9]/m);
    expect(metrics.body).toMatch(/^dashboard_elasticsearch_up\{function="dashboard"[^}]*\} 1$/m);
    expect(metrics.body).toContain('process_cpu_user_seconds_total');
  });
});

describe('dashboard with Elasticsearch unreachable', () => {
  it('answers 503 with the health panel red, and stays ready', async () => {
    const server = dashboard(isolatedEnv({ ELASTICSEARCH_URL: UNREACHABLE.ELASTICSEARCH_URL, ELASTICSEARCH_TIMEOUT_MS: '2000' }), Date.now);
    try {
      const res = await server.inject({ url: '/api/summary' });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ code: 'BDP_ERR_DOWNSTREAM_UNAVAILABLE', health: { status: 'down', elasticsearch: 'unreachable' } });
      expect((await server.inject({ url: '/health/readiness' })).statusCode).toBe(200);
      expect((await server.inject({ url: '/' })).statusCode).toBe(200);
      expect((await server.inject({ url: '/metrics' })).body).toMatch(/dashboard_elasticsearch_up\{[^}]*\} 0/);
    } finally {
      await server.close();
    }
  });
});
