/**
 * The base of every HTTP app of the pipeline, the event functions and the dashboard alike:
 * Fastify with a JSON logger named after the app and no per-request logs, the health probes
 * Kubernetes polls, Prometheus metrics, and a close that answers 503 to new requests,
 * drains the ones in flight, then runs `onClose`.
 */
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';

export interface HttpAppOptions {
  /** The `function` field of every log line. */
  name: string;
  /** Served at /metrics. */
  registry: Registry;
  bodyLimit?: number;
  logLevel?: string;
  /** Extra readiness condition (dependencies connected, etc.). */
  ready?: () => boolean;
  /** Runs after in-flight requests drained: flush batches, close clients. */
  onClose?: () => Promise<void>;
}

export interface HttpApp {
  app: FastifyInstance;
  /** Aborted once the app starts closing (SIGTERM): long handlers should wind down. */
  closing: AbortSignal;
}

/** Conditions added to an app's readiness after it was built (shared/main.ts: the stores' start checks). */
const laterReadiness = new WeakMap<FastifyInstance, () => boolean>();

export function addReadiness(app: FastifyInstance, ready: () => boolean): void {
  laterReadiness.set(app, ready);
}

export function createHttpApp(options: HttpAppOptions): HttpApp {
  const { registry } = options;
  const app = Fastify({
    bodyLimit: options.bodyLimit ?? 262_144,
    logger: { level: options.logLevel ?? 'info', base: { function: options.name } },
    // Every event, probe and dashboard poll is a request: per-request logs would drown the rest.
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });

  const closing = new AbortController();
  app.addHook('preClose', async () => closing.abort());
  if (options.onClose) app.addHook('onClose', options.onClose);

  app.get('/health/liveness', async () => ({ status: 'alive' }));
  app.get('/health/readiness', async (_request, reply) => {
    const ready = !closing.signal.aborted && (options.ready?.() ?? true) && (laterReadiness.get(app)?.() ?? true);
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready' });
  });
  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', registry.contentType);
    return registry.metrics();
  });

  return { app, closing: closing.signal };
}
