/**
 * Throughput of `enrich` and `index` with micro-batching on and with a batch size of 1,
 * measured in the same run against real Kafka and Elasticsearch. Each function runs as its
 * own process (the esbuild bundle) and is sent binary CloudEvents over loopback HTTP by 50
 * concurrent clients: what one KafkaSource consumer keeps in flight with `unordered`.
 *
 *   make bench                       # starts its own Kafka + Elasticsearch
 *   BENCH_EVENTS=20000 make bench    # more events per measurement
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeFileSync } from 'node:fs';
import { HTTP, type CloudEvent } from 'cloudevents';
import { endpoints, infra, type LocalPlatform } from '../cli/local-platform.ts';
import { setupPlatform } from '../cli/setup.ts';
import { enrichedEvent } from '../functions/enrich/app.ts';
import { enrichEvent } from '../functions/enrich/enrich.ts';
import { shopEvent } from '../functions/generate/app.ts';
import { generateEvents, planFromRequest } from '../functions/generate/generate.ts';

const CONCURRENCY = 50;
const EVENTS = Number(process.env['BENCH_EVENTS'] ?? 10_000);
const WARMUP = 1_000;
const platform: LocalPlatform = { kafkaPort: 49092, esPort: 49200, runDir: '.run/bench-infra' };
const platformEnv = (() => {
  const e = endpoints(platform);
  return { KAFKA_BROKERS: e.kafkaBrokers, ELASTICSEARCH_URL: e.elasticsearchUrl };
})();

interface Encoded {
  headers: Record<string, string>;
  body: string;
}

function encode(event: CloudEvent<unknown>): Encoded {
  const message = HTTP.binary(event);
  return { headers: message.headers as Record<string, string>, body: message.body as string };
}

/** Fresh events for every measurement, so index writes new documents each time. */
function events(run: number, count: number): { raw: Encoded[]; enriched: Encoded[] } {
  const now = Date.now();
  const plan = planFromRequest({ count }, { source: '/bench', id: `run-${run}-${now}`, time: new Date(now - 5_000).toISOString() }, now);
  const raw: Encoded[] = [];
  const enriched: Encoded[] = [];
  for (const e of generateEvents(plan)) {
    raw.push(encode(shopEvent(e)));
    enriched.push(encode(enrichedEvent(enrichEvent(e, now))));
  }
  return { raw, enriched };
}

async function startFunction(name: string, port: number, batchMaxItems: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [`dist/${name}/index.mjs`], {
    env: { ...process.env, ...platformEnv, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', BATCH_MAX_ITEMS: String(batchMaxItems), BATCH_MAX_WAIT_MS: '20' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  for (let i = 0; i < 100; i++) {
    if (await get(port, '/health/readiness').catch(() => 0) === 200) return child;
    await sleep(100);
  }
  child.kill();
  throw new Error(`${name} did not become ready`);
}

const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });

function get(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

function post(port: number, event: Encoded): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', method: 'POST', agent, headers: { ...event.headers, 'content-length': Buffer.byteLength(event.body) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(event.body);
  });
}

/** Posts every event with CONCURRENCY in flight; returns events/s over the whole batch. */
async function drive(port: number, batch: Encoded[]): Promise<number> {
  let next = 0;
  let failures = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < batch.length) {
        const status = await post(port, batch[next++]!);
        if (status !== 200) failures++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  if (failures > 0) throw new Error(`${failures} requests failed`);
  return batch.length / seconds;
}

async function measure(name: 'enrich' | 'index', batchMaxItems: number, run: number): Promise<number> {
  const port = 49500 + run;
  const child = await startFunction(name, port, batchMaxItems);
  try {
    const warm = events(run * 2, WARMUP);
    await drive(port, name === 'enrich' ? warm.raw : warm.enriched);
    const timed = events(run * 2 + 1, EVENTS);
    return await drive(port, name === 'enrich' ? timed.raw : timed.enriched);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

async function main() {
  if (!infra('start', platform)) throw new Error('could not start Kafka and Elasticsearch');
  try {
    await setupPlatform({ ...process.env, ...platformEnv });
    const rows: { fn: string; batched: number; single: number }[] = [];
    let run = 0;
    for (const fn of ['enrich', 'index'] as const) {
      const batched = await measure(fn, 35, run++);
      const single = await measure(fn, 1, run++);
      rows.push({ fn, batched, single });
    }
    const lines = [
      `| function | batch 35 (events/s) | batch 1 (events/s) | ratio |`,
      `|---|---:|---:|---:|`,
      ...rows.map((r) => `| ${r.fn} | ${r.batched.toFixed(0)} | ${r.single.toFixed(0)} | ${(r.batched / r.single).toFixed(1)}× |`),
    ];
    const report = [`${EVENTS} events per measurement, ${CONCURRENCY} concurrent requests, loopback HTTP, ${new Date().toISOString()}`, '', ...lines, ''].join('\n');
    console.log(`\n${report}`);
    writeFileSync('bench/last-run.md', report);
    const index = rows.find((r) => r.fn === 'index')!;
    const ratio = index.batched / index.single;
    console.log(ratio >= 10 ? `index: batching gives ${ratio.toFixed(1)}× (target 10×): met` : `index: batching gives ${ratio.toFixed(1)}× (target 10×): NOT met on this machine`);
  } finally {
    agent.destroy();
    infra('stop', platform);
  }
}

await main();
