/**
 * Process entry helpers shared by every function's main.ts: read the config, listen on
 * PORT, and on SIGTERM stop taking requests, drain the ones in flight, flush and exit.
 */
import closeWithGrace from 'close-with-grace';
import type { FastifyInstance } from 'fastify';
import { ConfigError } from './errors.ts';

export interface ServeOptions {
  PORT: number;
  HOST: string;
  SHUTDOWN_GRACE_MS: number;
}

export async function serve(app: FastifyInstance, config: ServeOptions): Promise<void> {
  // Knative sends SIGTERM and keeps routing for a moment; Fastify answers 503 to new
  // requests once closing, waits for the in-flight ones, then runs onClose (flushes).
  closeWithGrace({ delay: config.SHUTDOWN_GRACE_MS }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'fatal error, shutting down');
    else app.log.info({ signal }, 'shutting down: draining in-flight requests');
    await app.close();
  });
  await app.listen({ port: config.PORT, host: config.HOST });
}

/** Runs a function's start-up; a bad configuration exits 1 with a message naming the variable. */
export function start(main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
    } else {
      process.stderr.write(`failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    }
    process.exit(1);
  });
}

