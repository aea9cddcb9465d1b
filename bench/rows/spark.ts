/**
 * Row 9's baseline: the seed's own engine doing the pipeline's job. The Spark Structured
 * Streaming job of bench/spark/ (local[2]) reads the raw events a `generate` process
 * produces, writes them to Elasticsearch with the same `_id`s and writes 1-minute window
 * aggregates with a watermark. It is run exactly as row 5 runs the pipeline: a warm-up, then
 * the same load offered for the same time, then until both indices hold every event (the
 * events/s), then the pipeline's half rate with the same freshness probe. Indices are created
 * from the project's templates, so both engines write the same mappings.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@elastic/elasticsearch';
import { setupPlatform } from '../../cli/setup.ts';
import { createEsClient } from '../../shared/elasticsearch.ts';
import { runNames } from '../../shared/topology.ts';
import type { AggregateDoc } from '../../functions/window-aggregate/aggregate.ts';
import { aggregateDifferences, oracleOf } from '../../test/oracle.ts';
import type { BenchContext } from '../lib/context.ts';
import { spawnOnFreePort } from '../lib/fixtures.ts';
import { cpuSeconds } from '../lib/measure.ts';
import { terminate } from '../../cli/dev/terminate.ts';
import { completeAt, followFreshness, offerLoad, percentile, windowCounts } from '../lib/pipeline.ts';

/** What one round of an engine (the pipeline or Spark) measured. */
export interface EngineRound {
  perSecond: number;
  freshnessP50: number;
  freshnessP99: number;
  /** CPU µs per event of the full-load phase, by process. */
  cpu: Record<string, number>;
  exact: boolean;
  differences: string[];
}

/** Builds the job once (Maven, cached by bench/spark/run.sh); returns nothing, throws with Maven's output on failure. */
export function buildSpark(root: string): void {
  execFileSync(join(root, 'bench/spark/run.sh'), ['build'], { stdio: ['ignore', 'ignore', 'inherit'] });
}

export async function sparkRound(ctx: BenchContext, offeredRate: number, halfRate: number, seconds: number, basePort: number): Promise<EngineRound> {
  const suffix = randomBytes(4).toString('hex');
  const names = runNames(`spark-${suffix}`);
  const runDir = join(ctx.root, '.run', `bench-spark-${suffix}`);
  mkdirSync(runDir, { recursive: true });
  await setupPlatform({ ...process.env, KAFKA_BROKERS: ctx.kafkaBrokers, ELASTICSEARCH_URL: ctx.elasticsearchUrl, ...names });
  const es = createEsClient({ url: ctx.elasticsearchUrl, requestTimeoutMs: 30_000 });
  let generate: ChildProcess | undefined;
  let spark: ChildProcess | undefined;
  let finished = false;
  try {
    const gen = await spawnOnFreePort([join(ctx.root, 'dist/generate/index.mjs')], [0, 1, 2].map((i) => basePort + i), { KAFKA_BROKERS: ctx.kafkaBrokers, TOPIC_RAW: names.TOPIC_RAW });
    generate = gen.child;
    const url = `http://127.0.0.1:${gen.port}/`;
    const log = createWriteStream(join(runDir, 'spark.log'));
    spark = spawn(
      join(ctx.root, 'bench/spark/run.sh'),
      ['start', '--bootstrap-servers', ctx.kafkaBrokers, '--topic', names.TOPIC_RAW, '--es-url', ctx.elasticsearchUrl, '--events-index', names.EVENTS_INDEX, '--aggregates-index', names.AGGREGATES_INDEX, '--checkpoint-dir', join(runDir, 'checkpoints')],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    spark.stdout?.pipe(log);
    spark.stderr?.pipe(log);
    const sparkPid = spark.pid;

    // Warm-up, which also waits out the JVM and SparkSession start.
    const warm = await offerLoad(url, 200, 5);
    await completeAt(es, names.EVENTS_INDEX, names.AGGREGATES_INDEX, warm.events.length, 300_000);

    const pids = (): Record<string, { pid: number | undefined; children: boolean }> => {
      const { kafka, elasticsearch } = ctx.pids();
      return { spark: { pid: sparkPid, children: true }, generate: { pid: generate?.pid, children: false }, kafka: { pid: kafka, children: false }, elasticsearch: { pid: elasticsearch, children: false } };
    };
    const before = Object.fromEntries(Object.entries(pids()).map(([k, { pid, children }]) => [k, cpuSeconds(pid, children) ?? 0]));
    const full = await offerLoad(url, offeredRate, seconds);
    const doneAt = await completeAt(es, names.EVENTS_INDEX, names.AGGREGATES_INDEX, warm.events.length + full.events.length);
    const cpu = Object.fromEntries(Object.entries(pids()).map(([k, { pid, children }]) => [k, (((cpuSeconds(pid, children) ?? 0) - (before[k] ?? 0)) / full.events.length) * 1e6]));
    const perSecond = full.events.length / ((doneAt - full.startedMs) / 1000);
    ctx.log(`Spark: ${Math.round(perSecond)} events/s sustained (offered ${offeredRate}/s for ${seconds} s)`);

    const fresh = followFreshness({ windowCounts: () => windowCounts(es, names.AGGREGATES_INDEX) });
    const halfRun = await offerLoad(url, halfRate, seconds);
    const all = [...warm.events, ...full.events, ...halfRun.events];
    await completeAt(es, names.EVENTS_INDEX, names.AGGREGATES_INDEX, all.length);
    const delays = await fresh.stop(halfRun.events);
    const differences = await differencesOf(es, names.EVENTS_INDEX, names.AGGREGATES_INDEX, all.length, oracleOf(all));
    ctx.log(`Spark: at ${halfRate}/s freshness p50 ${percentile(delays, 50)} ms, p99 ${percentile(delays, 99)} ms; ${differences.length === 0 ? 'exact' : `NOT exact: ${differences[0]}`}`);
    finished = true;
    return { perSecond, freshnessP50: percentile(delays, 50), freshnessP99: percentile(delays, 99), cpu, exact: differences.length === 0, differences };
  } finally {
    if (spark) await terminate(spark);
    if (generate) await terminate(generate);
    await es.indices.delete({ index: [names.EVENTS_INDEX, names.AGGREGATES_INDEX, names.FINALS_INDEX], ignore_unavailable: true }).catch(() => undefined);
    await es.close();
    if (finished) rmSync(runDir, { recursive: true, force: true });
    else ctx.log(`Spark's log: ${join(runDir, 'spark.log')}`);
  }
}

async function differencesOf(es: Client, eventsIndex: string, aggregatesIndex: string, events: number, oracle: ReturnType<typeof oracleOf>): Promise<string[]> {
  await es.indices.refresh({ index: [eventsIndex, aggregatesIndex] });
  const { count } = await es.count({ index: eventsIndex });
  const res = await es.search<AggregateDoc>({ index: aggregatesIndex, size: 10_000 });
  const diffs = aggregateDifferences(
    res.hits.hits.map((h) => h._source!),
    oracle,
    { pipelineFields: false },
  );
  return count === events ? diffs : [`${count} documents in the events index, expected ${events}`, ...diffs];
}
