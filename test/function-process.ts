/**
 * A function as the process it is in a pod: its bundle (dist/<name>/index.mjs, what the image
 * runs) on a free 127.0.0.1 port, ready when its readiness probe answers, sent CloudEvents
 * over HTTP in binary mode as a KafkaSource dispatcher sends them, and stopped with SIGTERM.
 */
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import type { CloudEventV1 } from 'cloudevents';
import { Pool } from 'undici';
import { spawnReady } from '../cli/dev/spawn-ready.ts';
import { terminate } from '../cli/dev/terminate.ts';
import { binary } from './helpers.ts';

export interface FunctionAnswer {
  statusCode: number;
  json(): Record<string, unknown>;
}

export interface FunctionProcess {
  url: string;
  post(event: CloudEventV1<unknown>): Promise<FunctionAnswer>;
  /** SIGTERM, and the exit awaited (the function drains and flushes first). */
  stop(): Promise<void>;
}

/** Starts dist/<name>/index.mjs with `env` (topics, indices, brokers) and resolves once it is ready. */
export async function startFunction(name: string, env: Record<string, string>, connections = 64): Promise<FunctionProcess> {
  const entry = resolve(import.meta.dirname, '..', 'dist', name, 'index.mjs');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run node build.mjs`);
  const port = await freePort();
  const { child } = await spawnReady(['--enable-source-maps', entry], port, { ...env, K_SERVICE: name, POD_NAME: `${name}-${port}` });
  const url = `http://127.0.0.1:${port}`;
  const client = new Pool(url, { connections });
  return {
    url,
    async post(event) {
      const { headers, payload } = binary(event);
      const res = await client.request({ path: '/', method: 'POST', headers: headers as Record<string, string>, body: payload as string });
      const text = await res.body.text();
      return { statusCode: res.statusCode, json: () => JSON.parse(text) };
    },
    async stop() {
      await terminate(child);
      await client.destroy();
    },
  };
}

/** A port nothing listens on now, chosen by the kernel. */
function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}
