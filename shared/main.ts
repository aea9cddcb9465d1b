/**
 * The process entry of every function and of the dashboard: read the config, build the
 * app, listen on PORT, and on SIGTERM stop taking requests, drain the ones in flight,
 * flush and exit. A main.ts only names its app and the clients it is given.
 */
import type { Static, TObject } from '@sinclair/typebox';
import closeWithGrace from 'close-with-grace';
import type { FastifyInstance } from 'fastify';
import { collectAccessChecks, watchAccess } from './access.ts';
import { type commonConfig, loadConfig } from './config.ts';
import { ConfigError } from './errors.ts';
import { addReadiness } from './http-app.ts';
import { createMetrics, type Metrics } from './metrics.ts';

/** The config of a schema that holds the common variables (TypeScript cannot see them in a generic one). */
type AppConfig<P extends typeof commonConfig> = Static<TObject<P>> & Static<TObject<typeof commonConfig>>;

/**
 * Starts an app from its config schema; a bad configuration exits 1 with a message naming the
 * variable. The app is ready once its stores accept its clients (shared/access.ts).
 */
export function runApp<P extends typeof commonConfig>(configSchema: P, build: (config: AppConfig<P>) => FastifyInstance): void {
  start(async () => {
    const config = loadConfig(configSchema) as AppConfig<P>;
    const { value: app, checks } = collectAccessChecks(() => build(config));
    const stopChecks = new AbortController();
    app.addHook('preClose', async () => stopChecks.abort());
    addReadiness(app, watchAccess(checks, app.log, stopChecks.signal));
    await serve(app, config);
  });
}

/** Starts an event function, its metrics labelled with its name, its revision and its pod. */
export function runFunction<P extends typeof commonConfig>(
  name: string,
  configSchema: P,
  build: (config: AppConfig<P>, metrics: Metrics) => FastifyInstance,
): void {
  runApp(configSchema, (config) => build(config, createMetrics({ function: name, revision: config.K_REVISION, pod: config.POD_NAME })));
}

async function serve(app: FastifyInstance, config: { PORT: number; HOST: string; SHUTDOWN_GRACE_MS: number }): Promise<void> {
  // Knative sends SIGTERM and keeps routing for a moment; Fastify answers 503 to new
  // requests once closing, waits for the in-flight ones, then runs onClose (flushes).
  closeWithGrace({ delay: config.SHUTDOWN_GRACE_MS }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'fatal error, shutting down');
    else app.log.info({ signal }, 'shutting down: draining in-flight requests');
    await app.close();
  });
  await app.listen({ port: config.PORT, host: config.HOST });
}

function start(main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
    } else {
      process.stderr.write(`failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    }
    process.exit(1);
  });
}
