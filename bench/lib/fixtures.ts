/**
 * What rows 1–4, 6 and 7 share: fresh shop events as the functions receive them, the tiny
 * servers the baselines run (bundled like build.mjs bundles the functions, so subject and
 * baseline start and run the same way), and the bookkeeping of a measured run.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HTTP, type CloudEvent } from 'cloudevents';
import { build } from 'esbuild';
import { spawnReady } from '../../cli/dev/spawn-ready.ts';
import type { BenchContext } from './context.ts';
import { CpuMeter, type HttpBody, drive, medianOf, stats } from './measure.ts';
import type { Measured, RowResult } from './report.ts';
import { enrichEvent } from '../../functions/enrich/enrich.ts';
import { generateEvents, planFromRequest } from '../../functions/generate/generate.ts';
import type { EnrichedEvent, RawEvent } from '../../shared/schemas.ts';

/** A CloudEvent as a binary-mode HTTP request, as a KafkaSource dispatcher sends it. */
export function binary(event: CloudEvent<unknown>): HttpBody {
  const message = HTTP.binary(event);
  return { headers: message.headers as Record<string, string>, body: message.body as string };
}

let batchNumber = 0;

/**
 * `count` raw events no earlier run produced (new ids, so every index round writes new
 * documents), dated a few seconds ago so enrich takes them as on time.
 */
export function freshRawEvents(tag: string, count: number, nowMs = Date.now()): RawEvent[] {
  const id = `${tag}-${nowMs}-${batchNumber++}`;
  const plan = planFromRequest({ count }, { source: '/bench', id, time: new Date(nowMs - 5_000).toISOString() }, nowMs);
  return [...generateEvents(plan)];
}

export function freshEnrichedEvents(tag: string, count: number, nowMs = Date.now()): EnrichedEvent[] {
  return freshRawEvents(tag, count, nowMs).map((e) => enrichEvent(e, nowMs));
}

/** A bare Fastify app: same version and logger settings as the shell, one JSON echo route, a readiness route. */
export const BARE_FASTIFY = `
import Fastify, { LogController } from 'fastify';
const app = Fastify({ logger: { level: 'warn' }, logController: new LogController({ disableRequestLogging: true }) });
app.post('/', async (request) => request.body);
app.get('/health/readiness', async () => ({ status: 'ready' }));
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
`;

/** The least a Node process can do to answer a readiness probe. */
export const BARE_HTTP = `
import { createServer } from 'node:http';
createServer((request, response) => {
  response.writeHead(request.url === '/health/readiness' ? 200 : 404).end();
}).listen(Number(process.env.PORT), '127.0.0.1');
`;

/** Bundles TypeScript sources (imports resolved from the repository) into self-contained .mjs files in a temporary directory. */
export async function bundles(root: string, sources: Record<string, string>): Promise<{ paths: Record<string, string>; remove(): void }> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-bundles-'));
  const paths: Record<string, string> = {};
  try {
    for (const [name, contents] of Object.entries(sources)) {
      paths[name] = join(dir, `${name}.mjs`);
      // Same settings as build.mjs: what a function image runs.
      await build({
        stdin: { contents, resolveDir: root, sourcefile: `${name}.ts`, loader: 'ts' },
        outfile: paths[name],
        bundle: true,
        platform: 'node',
        target: 'node20',
        format: 'esm',
        minify: false,
        legalComments: 'none',
        banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
        logLevel: 'warning',
      });
    }
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return { paths, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A script with no imports to bundle, written as is. */
export function script(source: string): { path: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'bench-script-'));
  const path = join(dir, 'script.mjs');
  writeFileSync(path, source);
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * spawnReady on the first of `ports` that works: a port can still be held by a process that
 * has not finished exiting, or by something else on the machine (EADDRINUSE).
 */
export async function spawnOnFreePort(args: string[], ports: number[], env: Record<string, string> = {}): Promise<Awaited<ReturnType<typeof spawnReady>> & { port: number }> {
  let last: unknown;
  for (const port of ports) {
    try {
      return { ...(await spawnReady(args, port, env)), port };
    } catch (error) {
      last = error;
    }
  }
  throw last;
}

export type Spawned = Awaited<ReturnType<typeof spawnOnFreePort>>;

/** A function's bundle (dist/<name>/index.mjs), ready on the first free of three ports from basePort + `offset`. */
export function spawnFunction(ctx: BenchContext, name: string, offset: number, env: Record<string, string>): Promise<Spawned> {
  return spawnOnFreePort([join(ctx.root, 'dist', name, 'index.mjs')], [0, 1, 2].map((i) => ctx.basePort + offset + i), env);
}

/** What the rounds of a function's row gather besides their rates: failed requests and the mean batch the function sent. */
export interface Tally {
  problems: string[];
  batchMeans: number[];
}

/**
 * One round of `load` through a function at `concurrency`: its rate and CPU per event; the
 * mean size of the batches it sent to `batcher` (its metrics) and any failures go to `tally`.
 */
export async function driveRound(ctx: BenchContext, fn: Spawned, label: string, round: number, load: readonly HttpBody[], concurrency: number, batcher: string, tally: Tally): Promise<Run> {
  const meter = new CpuMeter(processes(ctx, { function: fn.child.pid }));
  const before = await batchSizes(fn.port, batcher);
  meter.start();
  const result = await drive(fn.port, load, concurrency);
  const cpu = meter.stop(load.length);
  const after = await batchSizes(fn.port, batcher);
  if (round >= 0) tally.batchMeans.push((after.sum - before.sum) / (after.count - before.count));
  const failed = failures(result.statuses);
  if (failed) tally.problems.push(`${label} round ${round}: ${failed}`);
  ctx.log(`${label}${round < 0 ? ' (warm-up)' : ''}: ${thousands(result.perSecond)} events/s`);
  return { perSecond: result.perSecond, cpu };
}

/** The processes a row's CPU is counted for: its own, the platform's, and this one (which drives the load). */
export function processes(ctx: BenchContext, own: Record<string, number | undefined>, self = 'load generator'): () => Record<string, number | undefined> {
  return () => ({ ...own, ...ctx.pids(), [self]: process.pid });
}

/** One timed run: its rate and the CPU µs per event of each process. */
export interface Run {
  perSecond: number;
  cpu: Record<string, number>;
}

export function measured(label: string, runs: Run[], unit = 'events/s'): Measured {
  return { label, value: stats(runs.map((r) => r.perSecond)), unit, cpuPerEvent: medianOf(runs.map((r) => r.cpu)) };
}

/** Subject and baseline of a row measured in alternating rounds, and the ratio of their medians. */
export function compared(subject: string, baseline: string, runs: { subject: Run[]; baseline: Run[] }): Pick<RowResult, 'subject' | 'baseline' | 'ratio'> {
  const s = measured(subject, runs.subject);
  const b = measured(baseline, runs.baseline);
  return { subject: s, baseline: b, ratio: s.value.median / b.value.median };
}

/** A target of at least `min`× the baseline, met only when no request failed. */
export function atLeast(min: number, ratio: number, problems: string[]): RowResult['target'] {
  return { text: `≥ ${min.toFixed(2)}×`, met: ratio >= min && problems.length === 0 };
}

/** Requests answered other than 2xx, as "N × status" (empty when all succeeded). */
export function failures(statuses: Record<number, number>): string {
  return Object.entries(statuses)
    .filter(([status]) => Number(status) < 200 || Number(status) > 299)
    .map(([status, n]) => `${n} × ${status}`)
    .join(', ');
}

/** Rounds a record of numbers for details (readable JSON). */
export function rounded(record: Record<string, number>, digits = 0): Record<string, number> {
  const f = 10 ** digits;
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, Math.round(v * f) / f]));
}

export const thousands = (x: number) => Math.round(x).toLocaleString('en-US');

/** Sum and count so far of a function's `pipeline_batch_size` histogram for one batcher (kafka, bulk), from its /metrics. */
export async function batchSizes(port: number, batcher: string): Promise<{ sum: number; count: number }> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const read = (part: 'sum' | 'count') => Number(new RegExp(`^pipeline_batch_size_${part}\\{[^}]*batcher="${batcher}"[^}]*\\} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  return { sum: read('sum'), count: read('count') };
}
