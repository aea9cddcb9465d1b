/**
 * The live web dashboard: a long-lived web app, not an event function. It serves one page
 * and its script (an esbuild bundle of browser/, charts by uPlot) which polls
 * `/api/summary` (two Elasticsearch searches per view: the window aggregates and the events'
 * categories) and `/api/stages` (the pipeline's stages: local runtime or Prometheus +
 * Kubernetes). Health probes, metrics and the graceful close are the functions'
 * (shared/http-app.ts).
 */
import type { Client } from '@elastic/elasticsearch';
import { Type, type Static, type TObject } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { commonConfig, elasticsearchConfig } from '../shared/config.ts';
import { isTransientEsError } from '../shared/elasticsearch.ts';
import { ErrorCode } from '../shared/errors.ts';
import { createHttpApp } from '../shared/http-app.ts';
import { type Filters, SummaryQuery, filtersKey } from './filters.ts';
import { createDashboardMetrics, type DashboardMetrics } from './metrics.ts';
import { type PageAssets, renderPage } from './page.ts';
import { type StageReader, type StagesReport, noStages } from './stages/types.ts';
import { aggregatesRequest, productsRequest, rangeOf } from './summary-request.ts';
import { summaryOf, unreachableHealth, type Summary } from './summary.ts';

export const configSchema = {
  ...commonConfig,
  ...elasticsearchConfig,
  /** How often the page asks for a new summary. */
  REFRESH_INTERVAL_MS: Type.Integer({ minimum: 500, maximum: 60_000, default: 2000 }),
  /** Summaries and stage views are shared for this long, so many open pages cost one read per interval. */
  SUMMARY_CACHE_MS: Type.Integer({ minimum: 0, maximum: 60_000, default: 1000 }),
  /** Newest window or last recompute older than this: the pipeline shows as stale. */
  STALE_AFTER_SECONDS: Type.Integer({ minimum: 1, maximum: 86_400, default: 180 }),
  /** `make dev`: the local runtime's state file (its stages). */
  RUNTIME_STATE_FILE: Type.Optional(Type.String({ minLength: 1 })),
  /** On a cluster: Prometheus, for the stages' lag, consumers and rates (with the Kubernetes API for their scaling). */
  PROMETHEUS_URL: Type.Optional(Type.String({ pattern: '^https?://' })),
  /** The namespace of the pipeline's Knative objects, read from the Kubernetes API with PROMETHEUS_URL. */
  PIPELINE_NAMESPACE: Type.String({ minLength: 1, default: 'big-data-pipeline' }),
};
export type Config = Static<TObject<typeof configSchema>>;

export interface Deps {
  es: Client;
  /** The page's script and style (browser/bundle.mjs). */
  assets: PageAssets;
  stages?: StageReader;
  metrics?: DashboardMetrics;
  now?: () => number;
}

/** One read per key per `ttlMs`, however many pages poll; concurrent askers share it, a failure is not kept. */
function cached<K, V>(ttlMs: number, now: () => number, work: (key: K) => Promise<V>, keyOf: (key: K) => string): (key: K) => Promise<V> {
  const entries = new Map<string, { atMs: number; value: Promise<V> }>();
  return (key) => {
    const id = keyOf(key);
    const at = now();
    const hit = entries.get(id);
    if (hit && at - hit.atMs < ttlMs) return hit.value;
    const value = work(key);
    if (ttlMs > 0) {
      entries.set(id, { atMs: at, value });
      value.catch(() => entries.delete(id));
    }
    return value;
  };
}

export function build(config: Config, deps: Deps): FastifyInstance {
  const metrics = deps.metrics ?? createDashboardMetrics({ pod: config.POD_NAME });
  const now = deps.now ?? Date.now;
  const stages = deps.stages ?? noStages;
  const page = renderPage({ refreshIntervalMs: config.REFRESH_INTERVAL_MS });
  // Ready whenever it serves: with Elasticsearch down the page still loads and says so.
  const { app } = createHttpApp({
    name: 'dashboard',
    registry: metrics.registry,
    bodyLimit: config.BODY_LIMIT_BYTES,
    logLevel: config.LOG_LEVEL,
    onClose: async () => {
      await stages.close?.();
      await deps.es.close();
    },
  });

  const summary = cached(
    config.SUMMARY_CACHE_MS,
    now,
    async (filters: Filters): Promise<Summary> => {
      const at = now();
      const range = rangeOf(filters.minutes, at);
      const started = performance.now();
      try {
        const [aggregates, products] = await Promise.all([
          deps.es.search(aggregatesRequest(config.AGGREGATES_INDEX, range, filters)),
          deps.es.search(productsRequest(config.EVENTS_INDEX, range, filters)),
        ]);
        metrics.elasticsearchUp.set(1);
        metrics.summaryDuration.observe({ outcome: 'ok' }, (performance.now() - started) / 1000);
        return summaryOf(aggregates, products, range, filters, at, config.STALE_AFTER_SECONDS);
      } catch (error) {
        const transient = isTransientEsError(error);
        if (transient) metrics.elasticsearchUp.set(0);
        metrics.summaryDuration.observe({ outcome: transient ? 'unavailable' : 'error' }, (performance.now() - started) / 1000);
        throw error;
      }
    },
    filtersKey,
  );
  const stageView = cached(config.SUMMARY_CACHE_MS, now, (_: 'all'): Promise<StagesReport> => stages.read(), () => 'all');

  const secure = { 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' };
  app.get('/', async (_request, reply) =>
    reply
      .headers({ ...secure, 'content-type': 'text/html; charset=utf-8', 'content-security-policy': page.csp, 'cache-control': 'no-store' })
      .send(page.html),
  );
  // Revalidated on every load: a new build is picked up at once.
  app.get('/app.js', async (_request, reply) =>
    reply.headers({ ...secure, 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-cache' }).send(deps.assets.js),
  );
  // Browsers ask for one; the page has none, and a 404 would read as an error in their consoles.
  app.get('/favicon.ico', async (_request, reply) => reply.code(204).send());
  app.get('/app.css', async (_request, reply) => reply.headers({ ...secure, 'content-type': 'text/css; charset=utf-8', 'cache-control': 'no-cache' }).send(deps.assets.css));

  app.get<{ Querystring: Filters }>('/api/summary', { schema: { querystring: SummaryQuery } }, async (request, reply) => {
    reply.header('cache-control', 'no-store');
    try {
      return await summary(request.query);
    } catch (error) {
      if (!isTransientEsError(error)) throw error;
      // The page keeps its last data and shows the health panel red.
      const message = error instanceof Error ? error.message : String(error);
      request.log.warn({ err: message }, 'Elasticsearch unavailable');
      return reply.code(503).send({
        error: 'Elasticsearch unavailable',
        code: ErrorCode.downstreamUnavailable,
        health: unreachableHealth(message, config.STALE_AFTER_SECONDS),
      });
    }
  });

  app.get('/api/stages', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    return stageView('all');
  });

  return app;
}
