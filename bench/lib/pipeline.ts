/**
 * The whole pipeline under measurement (rows 5, 8, 10): the `make dev` topology in a process
 * of its own (bench/lib/dev-child.ts), load offered as `make load` offers it (one
 * generate.request a second), and what a user would look at: when every stage is drained,
 * whether the aggregates are exact, how fresh they were, what every process spent.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@elastic/elasticsearch';
import type { RuntimeState } from '../../cli/dev/state.ts';
import { setupPlatform } from '../../cli/setup.ts';
import { CeType } from '../../shared/ce-types.ts';
import { createEsClient, deletePipelineIndices } from '../../shared/elasticsearch.ts';
import type { RawEvent } from '../../shared/schemas.ts';
import { type PipelineNames, runNames } from '../../shared/topology.ts';
import { generateEvents, planFromRequest } from '../../functions/generate/generate.ts';
import type { AggregateDoc } from '../../functions/window-aggregate/aggregate.ts';
import { aggregateDifferences, oracleOf } from '../../test/oracle.ts';
import type { BenchContext } from './context.ts';
import { cpuSeconds, rssMiB } from './measure.ts';

export interface Offered {
  events: RawEvent[];
  startedMs: number;
  endedMs: number;
  failedRequests: number;
}

/** The processes of a running pipeline, named as the report names them. */
function processTree(root: number): Record<string, number[]> {
  const byName: Record<string, number[]> = { dispatchers: [root] };
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.split(') ')[1]!.split(' ')[1]);
      if (ppid !== root) continue;
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ');
      const fn = /dist\/([a-z-]+)\/index\.mjs/.exec(cmd)?.[1];
      if (fn) (byName[fn] ??= []).push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return byName;
}

export class PipelineSession {
  readonly suffix = randomBytes(4).toString('hex');
  readonly names: PipelineNames;
  readonly es: Client;
  readonly stateDir: string;
  #child: ChildProcess | undefined;
  /** Highest CPU seconds seen per pid (processes come and go with the KPA), by process name. */
  readonly #cpu = new Map<number, { name: string; first: number; last: number }>();
  readonly #rss = new Map<string, number>();
  #sampler: NodeJS.Timeout | undefined;
  /** Keep the state directory (logs) after stop: set when something went wrong. */
  keep = false;

  constructor(
    private readonly ctx: BenchContext,
    private readonly basePort: number,
    private readonly env: Record<string, string> = {},
  ) {
    this.names = runNames(this.suffix);
    this.es = createEsClient({ url: ctx.elasticsearchUrl, requestTimeoutMs: 30_000 });
    this.stateDir = join(ctx.root, '.run', `bench-dev-${this.suffix}`);
  }

  /** Runs `work` on a pipeline of its own, on ports from `basePort`, started before and stopped after it. */
  static async run<R>(ctx: BenchContext, basePort: number, work: (session: PipelineSession) => Promise<R>): Promise<R> {
    const session = new PipelineSession(ctx, basePort);
    try {
      await session.start();
      return await work(session);
    } finally {
      await session.stop();
    }
  }

  state(): RuntimeState | undefined {
    const file = join(this.stateDir, 'state.json');
    if (!existsSync(file)) return undefined;
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as RuntimeState;
    } catch {
      return undefined;
    }
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  async start(): Promise<void> {
    await setupPlatform({ ...process.env, KAFKA_BROKERS: this.ctx.kafkaBrokers, ELASTICSEARCH_URL: this.ctx.elasticsearchUrl, ...this.names });
    // BENCH_PROFILE=<dir>: every process of the pipeline writes a V8 CPU profile there when it exits.
    const profile = process.env['BENCH_PROFILE'] ? [`--cpu-prof`, `--cpu-prof-dir=${process.env['BENCH_PROFILE']}`] : [];
    this.#child = spawn(process.execPath, [...profile, '--import', 'tsx', join(this.ctx.root, 'bench/lib/dev-child.ts')], {
      env: {
        ...process.env,
        BENCH_DEV: JSON.stringify({ suffix: this.suffix, basePort: this.basePort, stateDir: this.stateDir, kafkaBrokers: this.ctx.kafkaBrokers, elasticsearchUrl: this.ctx.elasticsearchUrl, env: { LOG_LEVEL: 'warn', ...this.env }, nodeArgs: profile }),
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      const state = this.state();
      if (state && state.services.every((s) => s.ready > 0)) break;
      if (this.#child.exitCode !== null) throw new Error('the dev runtime exited');
      await sleep(200);
    }
    this.#sampler = setInterval(() => this.#sample(), 1000);
    this.#sample();
  }

  #sample(): void {
    const pids = this.pid === undefined ? {} : processTree(this.pid);
    const { kafka, elasticsearch } = this.ctx.pids();
    if (kafka) pids['kafka'] = [kafka];
    if (elasticsearch) pids['elasticsearch'] = [elasticsearch];
    for (const [name, list] of Object.entries(pids)) {
      let rss = 0;
      for (const pid of list) {
        const s = cpuSeconds(pid);
        if (s === undefined) continue;
        const seen = this.#cpu.get(pid);
        if (seen) seen.last = s;
        else this.#cpu.set(pid, { name, first: s, last: s });
        rss = Math.max(rss, rssMiB(pid) ?? 0);
      }
      if (name !== 'kafka' && name !== 'elasticsearch') this.#rss.set(name, Math.max(this.#rss.get(name) ?? 0, rss));
    }
  }

  /** CPU seconds spent since `mark` by each process name (a process that started after it counts from its start). */
  cpuMark(): Map<number, number> {
    this.#sample();
    return new Map([...this.#cpu].map(([pid, c]) => [pid, c.last]));
  }

  cpuSince(mark: Map<number, number>): Record<string, number> {
    this.#sample();
    const out: Record<string, number> = {};
    for (const [pid, c] of this.#cpu) {
      const from = mark.get(pid) ?? c.first;
      out[c.name] = (out[c.name] ?? 0) + (c.last - from);
    }
    return out;
  }

  /** The largest RSS seen per function process, MiB. */
  get rss(): Record<string, number> {
    return Object.fromEntries(this.#rss);
  }

  /** One generate.request a second, `rate` events each, for `seconds`, as `make load` sends them; the events are known in advance. */
  offer(rate: number, seconds: number): Promise<Offered> {
    return offerLoad(this.state()!.services.find((s) => s.name === 'generate')!.url, rate, seconds);
  }

  /** Waits until every source has no lag and nothing in flight, and `events` holds every event; resolves with when. */
  async drained(expected: number, timeoutMs = 900_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const state = this.state();
      if (state && state.sources.every((s) => s.lag === 0 && s.inFlight === 0)) {
        // The events alias exists once the first daily index does: until then, none indexed.
        await this.es.indices.refresh({ index: this.names.EVENTS_INDEX, ignore_unavailable: true, allow_no_indices: true });
        const { count } = await this.es.count({ index: this.names.EVENTS_INDEX, ignore_unavailable: true, allow_no_indices: true });
        if (count >= expected) return Date.now();
      }
      await sleep(250);
    }
    const sources = (this.state()?.sources ?? []).map((s) => `${s.name}: lag ${s.lag}, in flight ${s.inFlight}, vreplicas ${s.vreplicas}, pods ${s.placements.length}, members ${s.members}`);
    this.keep = true;
    throw new Error(`not drained within ${timeoutMs / 1000} s (${sources.join('; ')}); state and logs kept in ${this.stateDir}`);
  }

  async aggregates(): Promise<AggregateDoc[]> {
    await this.es.indices.refresh({ index: this.names.AGGREGATES_INDEX });
    const res = await this.es.search<AggregateDoc>({ index: this.names.AGGREGATES_INDEX, size: 10_000 });
    return res.hits.hits.map((h) => h._source!);
  }

  /** Differences of the aggregates from an independent computation over the offered events (window-aggregate may still be catching up: retried). */
  async exactness(events: RawEvent[], timeoutMs = 120_000): Promise<string[]> {
    const oracle = oracleOf(events);
    const deadline = Date.now() + timeoutMs;
    let diffs: string[] = [];
    while (Date.now() < deadline) {
      diffs = aggregateDifferences(await this.aggregates(), oracle).filter((d) => !/does not settle/.test(d));
      if (diffs.length === 0) return [];
      await sleep(1000);
    }
    return diffs;
  }

  /** Summed count per window of the aggregates now. */
  windowCounts(): Promise<Map<string, number>> {
    return windowCounts(this.es, this.names.AGGREGATES_INDEX);
  }

  /** When both `events` and the aggregates hold `expected` events. */
  complete(expected: number): Promise<number> {
    return completeAt(this.es, this.names.EVENTS_INDEX, this.names.AGGREGATES_INDEX, expected);
  }

  /** Dead letters and failed delivery attempts (5xx, timeouts) of every source. */
  deliveryTrouble(): { deadLetters: number; failedAttempts: number; delivered: number } {
    const s = this.state()!.sources;
    return { deadLetters: s.reduce((n, x) => n + x.deadLettered, 0), failedAttempts: s.reduce((n, x) => n + x.retries, 0), delivered: s.reduce((n, x) => n + x.delivered, 0) };
  }

  async stop(): Promise<void> {
    if (this.#sampler) clearInterval(this.#sampler);
    const child = this.#child;
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      await exited;
      clearTimeout(timer);
    }
    await deletePipelineIndices(this.es, this.names).catch(() => undefined);
    await this.es.close();
    if (!this.keep) rmSync(this.stateDir, { recursive: true, force: true });
  }
}

/**
 * One generate.request a second to `url`, `rate` events each, for `seconds`, as `make load`
 * sends them; the events are computed the way generate computes them, so they are known.
 */
export async function offerLoad(url: string, rate: number, seconds: number): Promise<Offered> {
  const runId = randomBytes(4).toString('hex');
  const events: RawEvent[] = [];
  let failed = 0;
  const startedMs = Date.now();
  const pending: Promise<void>[] = [];
  for (let second = 0; second < seconds; second++) {
    const due = startedMs + second * 1000;
    if (due > Date.now()) await sleep(due - Date.now());
    const ce = { source: `/bench/${runId}`, id: `${runId}-${second}`, time: new Date(due).toISOString() };
    events.push(...generateEvents(planFromRequest({ count: rate }, ce, Date.now())));
    pending.push(
      fetch(url, {
        method: 'POST',
        headers: { 'ce-specversion': '1.0', 'ce-type': CeType.generateRequest, 'ce-source': ce.source, 'ce-id': ce.id, 'ce-time': ce.time, 'content-type': 'application/json' },
        body: JSON.stringify({ count: rate }),
      }).then(
        (r) => void (r.ok || failed++),
        () => void failed++,
      ),
    );
  }
  await Promise.all(pending);
  return { events, startedMs, endedMs: Date.now(), failedRequests: failed };
}

/** Summed `count` per window_start of an aggregates index. */
export async function windowCounts(es: Client, index: string): Promise<Map<string, number>> {
  const res = await es.search({
    index,
    size: 0,
    aggs: { w: { terms: { field: 'window_start', size: 1000 }, aggs: { c: { sum: { field: 'count' } } } } },
  });
  const buckets = (res.aggregations?.['w'] as { buckets: { key_as_string: string; c: { value: number } }[] } | undefined)?.buckets ?? [];
  return new Map(buckets.map((b) => [b.key_as_string, b.c.value]));
}

/** Resolves with the time at which the events index holds `expected` documents and the aggregates count as many events. */
export async function completeAt(es: Client, eventsIndex: string, aggregatesIndex: string, expected: number, timeoutMs = 900_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let seen = { events: 0, aggregated: 0 };
  while (Date.now() < deadline) {
    const at = Date.now();
    try {
      await es.indices.refresh({ index: [eventsIndex, aggregatesIndex] });
      const { count } = await es.count({ index: eventsIndex });
      const aggregated = [...(await windowCounts(es, aggregatesIndex)).values()].reduce((a, b) => a + b, 0);
      seen = { events: count, aggregated };
      if (count >= expected && aggregated >= expected) return at;
    } catch {
      // an index not created yet: keep polling
    }
    await sleep(250);
  }
  throw new Error(`${expected} events not indexed and aggregated within ${timeoutMs / 1000} s (${seen.events} indexed, ${seen.aggregated} aggregated)`);
}

/**
 * Freshness: for each event, the time from its production (its event time: generate
 * produces an event no earlier than its time) until the aggregate of its window first
 * counted it — read by polling the window counts every `everyMs`. Returns a stop function
 * that resolves with the per-event delays (ms).
 */
export function followFreshness(session: { windowCounts(): Promise<Map<string, number>> }, everyMs = 200): { stop(events: RawEvent[]): Promise<number[]> } {
  const samples: { at: number; counts: Map<string, number> }[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const at = Date.now();
      const counts = await session.windowCounts().catch(() => undefined);
      if (counts) samples.push({ at, counts });
      await sleep(Math.max(0, everyMs - (Date.now() - at)));
    }
  })();
  return {
    async stop(events) {
      running = false;
      await loop;
      const byWindow = new Map<string, number[]>();
      for (const e of events) {
        const t = Date.parse(e.timestamp);
        const w = new Date(t - (t % 60_000)).toISOString();
        const list = byWindow.get(w);
        if (list) list.push(t);
        else byWindow.set(w, [t]);
      }
      const delays: number[] = [];
      for (const [w, times] of byWindow) {
        times.sort((a, b) => a - b);
        let s = 0;
        times.forEach((t, k) => {
          while (s < samples.length && (samples[s]!.counts.get(w) ?? 0) < k + 1) s++;
          if (s < samples.length) delays.push(Math.max(0, samples[s]!.at - t));
        });
      }
      return delays;
    },
  };
}

export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}
