/**
 * Throughput of `enrich` and `index` with micro-batching on and with a batch size of 1,
 * measured in the same run against real Kafka and Elasticsearch. Each function runs as its
 * own process (the esbuild bundle) and is sent binary CloudEvents over loopback HTTP by 50
 * concurrent clients: what one KafkaSource consumer keeps in flight with `unordered`.
 * The two settings alternate for a few rounds and the medians are reported, with the CPU
 * each process spent per event (from /proc, so on Linux), which shows where batching saves
 * work even when the machine, not the function, limits throughput.
 *
 *   make bench                                     # starts its own Kafka + Elasticsearch
 *   BENCH_EVENTS=20000 BENCH_ROUNDS=5 make bench   # more events per measurement, more rounds
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { readFileSync, writeFileSync } from 'node:fs';
import { HTTP, type CloudEvent } from 'cloudevents';
import { endpoints, infra, platformPids, type LocalPlatform } from '../cli/local-platform.ts';
import { setupPlatform } from '../cli/setup.ts';
import { enrichedEvent } from '../functions/enrich/app.ts';
import { enrichEvent } from '../functions/enrich/enrich.ts';
import { shopEvent } from '../functions/generate/app.ts';
import { generateEvents, planFromRequest } from '../functions/generate/generate.ts';

const CONCURRENCY = 50;
const EVENTS = Number(process.env['BENCH_EVENTS'] ?? 20_000);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
const BATCH = 35;
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

type Process = 'function' | 'elasticsearch' | 'kafka' | 'load generator';
const PROCESSES: Process[] = ['function', 'elasticsearch', 'kafka', 'load generator'];

interface Measurement {
  eventsPerSecond: number;
  /** CPU microseconds per event, by process; absent where /proc cannot be read. */
  cpuPerEvent: Partial<Record<Process, number>>;
}

/** User + system CPU seconds a process has used so far (Linux /proc), or undefined. */
function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks of 1/100 s
  } catch {
    return undefined;
  }
}

async function measure(name: 'enrich' | 'index', batchMaxItems: number, run: number): Promise<Measurement> {
  const port = 49500 + run;
  const child = await startFunction(name, port, batchMaxItems);
  try {
    const warm = events(run * 2, WARMUP);
    await drive(port, name === 'enrich' ? warm.raw : warm.enriched);
    const timed = events(run * 2 + 1, EVENTS);
    const batch = name === 'enrich' ? timed.raw : timed.enriched;
    const { kafka, elasticsearch } = platformPids(platform);
    const pids: Record<Process, number | undefined> = { function: child.pid, elasticsearch, kafka, 'load generator': process.pid };
    const before = PROCESSES.map((p) => cpuSeconds(pids[p]));
    const eventsPerSecond = await drive(port, batch);
    const cpuPerEvent: Measurement['cpuPerEvent'] = {};
    PROCESSES.forEach((p, i) => {
      const after = cpuSeconds(pids[p]);
      if (after !== undefined && before[i] !== undefined) cpuPerEvent[p] = ((after - before[i]!) / batch.length) * 1e6;
    });
    return { eventsPerSecond, cpuPerEvent };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const thousands = (x: number) => Math.round(x).toLocaleString('en-US');

function summarize(ms: Measurement[]): Measurement {
  const cpuPerEvent: Measurement['cpuPerEvent'] = {};
  for (const p of PROCESSES) {
    const xs = ms.flatMap((m) => (m.cpuPerEvent[p] === undefined ? [] : [m.cpuPerEvent[p]!]));
    if (xs.length === ms.length) cpuPerEvent[p] = median(xs);
  }
  return { eventsPerSecond: median(ms.map((m) => m.eventsPerSecond)), cpuPerEvent };
}

async function main() {
  if (!infra('start', platform)) throw new Error('could not start Kafka and Elasticsearch');
  try {
    await setupPlatform({ ...process.env, ...platformEnv });
    const results: { fn: string; batched: Measurement; single: Measurement }[] = [];
    let run = 0;
    for (const fn of ['enrich', 'index'] as const) {
      const batched: Measurement[] = [];
      const single: Measurement[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        batched.push(await measure(fn, BATCH, run++));
        single.push(await measure(fn, 1, run++));
        console.log(`${fn} round ${round + 1}/${ROUNDS}: batch ${BATCH} ${thousands(batched.at(-1)!.eventsPerSecond)} events/s, batch 1 ${thousands(single.at(-1)!.eventsPerSecond)} events/s`);
      }
      results.push({ fn, batched: summarize(batched), single: summarize(single) });
    }
    const ratio = (a: number, b: number) => `${(a / b).toFixed(1)}×`;
    const throughput = [
      `| function | batch ${BATCH} (events/s) | batch 1 (events/s) | ratio |`,
      `|---|---:|---:|---:|`,
      ...results.map((r) => `| ${r.fn} | ${thousands(r.batched.eventsPerSecond)} | ${thousands(r.single.eventsPerSecond)} | ${ratio(r.batched.eventsPerSecond, r.single.eventsPerSecond)} |`),
    ];
    const cpu = [
      `| function | process | batch ${BATCH} (µs/event) | batch 1 (µs/event) | ratio |`,
      `|---|---|---:|---:|---:|`,
      ...results.flatMap((r) =>
        PROCESSES.filter((p) => r.batched.cpuPerEvent[p] !== undefined && r.single.cpuPerEvent[p] !== undefined).map((p) => {
          const b = r.batched.cpuPerEvent[p]!;
          const s = r.single.cpuPerEvent[p]!;
          return `| ${r.fn} | ${p} | ${thousands(b)} | ${thousands(s)} | ${ratio(s, b)} |`;
        }),
      ),
    ];
    const report = [
      `${EVENTS} events per measurement, ${CONCURRENCY} concurrent requests, loopback HTTP, median of ${ROUNDS} alternating rounds, ${new Date().toISOString()}`,
      '',
      'Throughput:',
      '',
      ...throughput,
      '',
      'CPU time per event:',
      '',
      ...cpu,
      '',
    ].join('\n');
    console.log(`\n${report}`);
    writeFileSync('bench/last-run.md', report);
    const index = results.find((r) => r.fn === 'index')!;
    const indexRatio = index.batched.eventsPerSecond / index.single.eventsPerSecond;
    console.log(`index: batching gives ${indexRatio.toFixed(1)}× the batch-size-1 throughput (target 10×): ${indexRatio >= 10 ? 'met' : 'NOT met on this machine'}`);
  } finally {
    agent.destroy();
    infra('stop', platform);
  }
}

await main();
