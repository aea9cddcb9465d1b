/**
 * The live web dashboard: a long-lived web app, not an event function. It
 * serves one self-contained page that polls `/api/summary`, which is computed by one
 * Elasticsearch search over the window aggregates. Health probes, metrics and the graceful
 * close are the functions' (shared/http-app.ts).
 */
import type { Client } from '@elastic/elasticsearch';
import { Type, type Static, type TObject } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { commonConfig, elasticsearchConfig } from '../shared/config.ts';
import { isTransientEsError } from '../shared/elasticsearch.ts';
import { ErrorCode } from '../shared/errors.ts';
import { createHttpApp } from '../shared/http-app.ts';
import { createDashboardMetrics, type DashboardMetrics } from './metrics.ts';
import { renderPage } from './page.ts';
import { MAX_MINUTES, rangeOf, summaryOf, summaryRequest, unreachableHealth, type Summary } from './summary.ts';

export const configSchema = {
  ...commonConfig,
  ...elasticsearchConfig,
  /** How often the page asks for a new summary. */
  REFRESH_INTERVAL_MS: Type.Integer({ minimum: 500, maximum: 60_000, default: 2000 }),
  /** Summaries are shared for this long, so many open pages cost one search per interval. */
  SUMMARY_CACHE_MS: Type.Integer({ minimum: 0, maximum: 60_000, default: 1000 }),
  /** Newest window or last recompute older than this: the pipeline shows as stale. */
  STALE_AFTER_SECONDS: Type.Integer({ minimum: 1, maximum: 86_400, default: 180 }),
};
export type Config = Static<TObject<typeof configSchema>>;

export interface Deps {
  es: Client;
  metrics?: DashboardMetrics;
  now?: () => number;
}

const SummaryQuery = Type.Object({ minutes: Type.Integer({ minimum: 1, maximum: MAX_MINUTES, default: 60 }) }, { additionalProperties: false });

export function build(config: Config, deps: Deps): FastifyInstance {
  const metrics = deps.metrics ?? createDashboardMetrics({ pod: config.POD_NAME });
  const now = deps.now ?? Date.now;
  const page = renderPage({ refreshIntervalMs: config.REFRESH_INTERVAL_MS });
  // Ready whenever it serves: with Elasticsearch down the page still loads and says so.
  const { app } = createHttpApp({
    name: 'dashboard',
    registry: metrics.registry,
    bodyLimit: config.BODY_LIMIT_BYTES,
    logLevel: config.LOG_LEVEL,
    onClose: () => deps.es.close(),
  });

  // One search per range per SUMMARY_CACHE_MS, however many pages poll; concurrent askers share it.
  const cache = new Map<number, { atMs: number; summary: Promise<Summary> }>();
  function summary(minutes: number): Promise<Summary> {
    const at = now();
    const hit = cache.get(minutes);
    if (hit && at - hit.atMs < config.SUMMARY_CACHE_MS) return hit.summary;
    const range = rangeOf(minutes, at);
    const started = performance.now();
    const work = deps.es.search(summaryRequest(config.AGGREGATES_INDEX, range)).then(
      (response) => {
        metrics.elasticsearchUp.set(1);
        metrics.summaryDuration.observe({ outcome: 'ok' }, (performance.now() - started) / 1000);
        return summaryOf(response, range, at, config.STALE_AFTER_SECONDS);
      },
      (error: unknown) => {
        cache.delete(minutes);
        const transient = isTransientEsError(error);
        if (transient) metrics.elasticsearchUp.set(0);
        metrics.summaryDuration.observe({ outcome: transient ? 'unavailable' : 'error' }, (performance.now() - started) / 1000);
        throw error;
      },
    );
    if (config.SUMMARY_CACHE_MS > 0) cache.set(minutes, { atMs: at, summary: work });
    return work;
  }

  app.get('/', async (_request, reply) =>
    reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('content-security-policy', page.csp)
      .header('cache-control', 'no-store')
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .send(page.html),
  );

  app.get<{ Querystring: Static<typeof SummaryQuery> }>('/api/summary', { schema: { querystring: SummaryQuery } }, async (request, reply) => {
    reply.header('cache-control', 'no-store');
    try {
      return await summary(request.query.minutes);
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

  return app;
}
