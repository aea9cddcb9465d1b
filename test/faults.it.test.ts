/**
 * The pipeline on a cluster that loses a node mid-load: 3 Kafka brokers and 3 Elasticsearch
 * nodes, secure as in production (infra.sh BDP_SECURE=1 BDP_KAFKA_NODES=3 BDP_ES_NODES=3),
 * started by this file on ports of its own. cli/setup.ts gives the topics replication factor
 * 3 with min.insync.replicas 2, and the indices one replica. The functions run as their
 * bundles; the test plays the KafkaSource (as in pipeline.it.test.ts), retrying every answer
 * but 200 with back-off. A node is SIGKILLed while events flow (a broker is started again
 * meanwhile): no event may be lost or stored twice, and the aggregates must match the test's
 * own computation.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CloudEvent } from 'cloudevents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AggregateDoc } from '../functions/window-aggregate/aggregate.ts';
import { clientEnv, infra, infraNode } from '../cli/local-platform.ts';
import { setupPlatform } from '../cli/setup.ts';
import { CeType } from '../shared/ce-types.ts';
import { fromKafkaRecord } from '../shared/kafka.ts';
import type { RawEvent } from '../shared/schemas.ts';
import { runNames } from '../shared/topology.ts';
import { allInSync, clusterEs, clusterKafka, deliver, type DeliveryProgress, faultCluster, leaderOf, readToEnd, until } from './fault-cluster.ts';
import { type FunctionProcess, startFunction } from './function-process.ts';
import { ce, shuffled } from './helpers.ts';
import { aggregateDifferences, oracleOf } from './oracle.ts';

const RATE = 40;
const DURATION_S = 100; // 4,000 events over two to three 1-minute windows
const TOTAL = RATE * DURATION_S;

let clusterEnv: Record<string, string>;

beforeAll(async () => {
  const t0 = performance.now();
  if (!infra('start', faultCluster)) throw new Error('could not start the 3-broker Kafka and 3-node Elasticsearch (see the output above)');
  clusterEnv = clientEnv(faultCluster);
  console.log(`fault cluster (6 JVMs) ready in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}, 300_000);

afterAll(() => {
  infra('stop', faultCluster);
}, 120_000);

interface Pipeline {
  env: Record<string, string>;
  generate: FunctionProcess;
  enrich: FunctionProcess;
  index: FunctionProcess;
  aggregate: FunctionProcess;
}

/** The four functions on topics and indices of their own (replicated as the cluster says). */
async function startPipeline(): Promise<Pipeline & { stop(): Promise<void> }> {
  const env = { ...clusterEnv, ...runNames(randomBytes(4).toString('hex')), LOG_LEVEL: 'silent', TOUCH_DEBOUNCE_MS: '500' };
  await setupPlatform(env);
  const starting = ['generate', 'enrich', 'index', 'window-aggregate'].map((name) => startFunction(name, env));
  const settled = await Promise.allSettled(starting);
  const started = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const stop = async () => void (await Promise.all(started.map((fn) => fn.stop())));
  if (started.length < starting.length) {
    await stop();
    throw (settled.find((s) => s.status === 'rejected') as PromiseRejectedResult).reason;
  }
  const [generate, enrich, index, aggregate] = started as [FunctionProcess, FunctionProcess, FunctionProcess, FunctionProcess];
  return { env, generate, enrich, index, aggregate, stop };
}

/**
 * generate → enrich → index → window-aggregate for TOTAL events, with `fault` run while the
 * `faulted` stage delivers at `pace` events a second (the other stages go as fast as they are
 * answered). Checks that every event is in Kafka's enriched topic, stored once in `events`,
 * and aggregated exactly.
 */
async function loadWithFault(p: Pipeline, faulted: 'enrich' | 'index', pace: number, fault: () => Promise<void>, seed: number): Promise<void> {
  const kafka = clusterKafka(p.env);
  const es = clusterEs(p.env);
  try {
    const startTimeMs = Math.floor((Date.now() - 12 * 60_000) / 60_000) * 60_000;
    const request = ce({ type: CeType.generateRequest, id: `load-${seed}`, source: '/faults', data: { ratePerSecond: RATE, durationSeconds: DURATION_S, startTime: new Date(startTimeMs).toISOString(), seed } });
    const res = await p.generate.post(request);
    expect(res.statusCode).toBe(200);
    expect(res.json().produced).toBe(TOTAL);

    const raw = (await readToEnd(kafka, p.env.TOPIC_RAW!)).map(fromKafkaRecord);
    const unique = [...new Map(raw.map((e) => [e.id, e.data as RawEvent])).values()];
    expect(unique).toHaveLength(TOTAL);

    const stage = async (fn: FunctionProcess, events: CloudEvent<unknown>[], isFaulted: boolean): Promise<void> => {
      const progress: DeliveryProgress = { done: 0, retried: 0 };
      if (!isFaulted) return deliver(fn, events, progress, { concurrency: 50 });
      const delivery = deliver(fn, events, progress, { ratePerSecond: pace });
      await until(() => progress.done >= events.length * 0.15);
      const doneAtFault = progress.done;
      await Promise.all([delivery, fault()]);
      console.log(`${faulted}: fault ${doneAtFault}/${events.length} events in, ${progress.retried} deliveries retried`);
      expect(doneAtFault).toBeLessThan(events.length * 0.5);
    };

    await stage(p.enrich, shuffled(raw, seed), faulted === 'enrich');
    const enriched = (await readToEnd(kafka, p.env.TOPIC_ENRICHED!)).map(fromKafkaRecord);
    // At least once: a retried produce may have been written before its answer was lost.
    expect(new Set(enriched.map((e) => e.id))).toEqual(new Set(raw.map((e) => e.id)));
    await stage(p.index, shuffled(enriched, seed + 1), faulted === 'index');

    // Window notices in topic order, one at a time, as an ordered KafkaSource delivers them.
    await sleep(700);
    await deliver(p.aggregate, (await readToEnd(kafka, p.env.TOPIC_WINDOWS!)).map(fromKafkaRecord), { done: 0, retried: 0 }, { concurrency: 1 });
    expect((await p.aggregate.post(ce({ type: CeType.ping, data: {} }))).statusCode).toBe(200);

    await es.indices.refresh({ index: p.env.EVENTS_INDEX! });
    const stored = await es.search({ index: p.env.EVENTS_INDEX!, size: TOTAL + 100, _source: false, track_total_hits: true });
    expect(stored.hits.total).toEqual({ value: TOTAL, relation: 'eq' });
    expect(new Set(stored.hits.hits.map((h) => h._id))).toEqual(new Set(unique.map((e) => e.event_id)));

    await es.indices.refresh({ index: p.env.AGGREGATES_INDEX! });
    const aggregates = (await es.search<AggregateDoc>({ index: p.env.AGGREGATES_INDEX!, size: 1000 })).hits.hits.map((h) => h._source!);
    expect(aggregateDifferences(aggregates, oracleOf(unique))).toEqual([]);
    for (const doc of aggregates) expect(doc.status).toBe('final');
  } finally {
    await es.close();
  }
}

describe('a Kafka broker SIGKILLed during a load and started again', { timeout: 300_000 }, () => {
  let pipeline: Awaited<ReturnType<typeof startPipeline>>;
  beforeAll(async () => {
    pipeline = await startPipeline();
  }, 120_000);
  afterAll(() => pipeline?.stop());

  it(`loses none of ${TOTAL} events, stores none twice, and aggregates them exactly`, async () => {
    // The broker that leads enrich's output: its produces must move to a new leader. The
    // delivery lasts about 40 s, about as long as the broker's restart.
    const kafka = clusterKafka(pipeline.env);
    const node = await leaderOf(kafka, pipeline.env.TOPIC_ENRICHED!);
    await loadWithFault(pipeline, 'enrich', 100, async () => {
      await infraNode('kill', 'kafka', node, faultCluster);
      await sleep(3000);
      await infraNode('start', 'kafka', node, faultCluster);
    }, 7);
    // The restarted broker catches up: every partition has its 3 replicas in sync again.
    const { TOPIC_RAW, TOPIC_ENRICHED, TOPIC_WINDOWS, TOPIC_DEAD_LETTERS } = pipeline.env;
    await allInSync(kafka, [TOPIC_RAW!, TOPIC_ENRICHED!, TOPIC_WINDOWS!, TOPIC_DEAD_LETTERS!, '__consumer_offsets']);
  });
});

describe('an Elasticsearch node SIGKILLed during a load', { timeout: 300_000 }, () => {
  let pipeline: Awaited<ReturnType<typeof startPipeline>>;
  beforeAll(async () => {
    pipeline = await startPipeline();
    // The clients talk to node 1 only (ELASTICSEARCH_URL); every shard's two copies go to
    // nodes 2 and 3, so killing node 2 takes a copy of every shard, half of them primaries.
    const es = clusterEs(pipeline.env);
    try {
      await es.cluster.putSettings({ persistent: { 'cluster.routing.allocation.exclude._name': 'node-1' } });
      await es.cluster.health({ wait_for_status: 'green', wait_for_no_relocating_shards: true, timeout: '60s' });
    } finally {
      await es.close();
    }
  }, 180_000);
  afterAll(() => pipeline?.stop());

  it(`indexing goes on: none of ${TOTAL} events lost or stored twice, aggregates exact`, async () => {
    await loadWithFault(pipeline, 'index', 200, () => infraNode('kill', 'es', 2, faultCluster), 8);
  });
});
