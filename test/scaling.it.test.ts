/**
 * Consumer scaling through the local runtime, on real Kafka lag: a backlog activates
 * enrich's vreplicas from zero (KEDA), the HPA scales them out in its steps up to
 * max-scale, each vreplica gets a dispatcher pod of its own (POD_CAPACITY 1) and with it a
 * real member of the Kafka consumer group, and once the lag is gone they all go back to
 * zero. Time for the scaling decisions runs 20× faster (an injected clock); every decision
 * is recomputed from its recorded inputs. That the decisions are KEDA's and the HPA's own
 * is checked against their code in test/upstream/.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsumerGroupScaler, type Decision } from '../cli/scaling/consumer-group.ts';
import { DevRuntime } from '../cli/dev/runtime.ts';
import { setupPlatform } from '../cli/setup.ts';
import { shopEvent } from '../shared/events.ts';
import { generateEvents, planFromRequest } from '../functions/generate/generate.ts';
import { EventProducer, toKafkaRecord } from '../shared/kafka.ts';
import { runName, runNames } from '../shared/topology.ts';
import { elasticsearchUrl, kafkaBrokers } from './infra.ts';
import { kafka } from './helpers.ts';

const SPEED = 20;
const BACKLOG = 100_000;

/** Commits offset 0 for enrich's group, then produces a backlog that no consumer has read. */
async function producerBacklog(suffix: string, topic: string): Promise<void> {
  const admin = kafka().admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.setOffsets({ groupId: runName('big-data-pipeline-enrich', suffix), topic, partitions: ends.map((e) => ({ partition: e.partition, offset: '0' })) });
  await admin.disconnect();
  const now = Date.now();
  const plan = planFromRequest({ count: BACKLOG }, { source: '/scaling-test', id: suffix, time: new Date(now - 60_000).toISOString() }, now);
  const producer = new EventProducer(kafka(), { maxItems: 1000, maxWaitMs: 10, sendTimeoutMs: 30_000 });
  await producer.sendAll(topic, [...generateEvents(plan)].map((e) => toKafkaRecord(shopEvent(e), String(e.user_id))));
  await producer.close();
}

describe('consumer scaling on lag (accelerated clock)', { timeout: 600_000 }, () => {
  const suffix = randomBytes(4).toString('hex');
  const names = runNames(suffix);
  const topic = names.TOPIC_RAW;
  const t0 = Date.now();
  const clock = { now: () => t0 + (Date.now() - t0) * SPEED };
  let runtime: DevRuntime;

  beforeAll(async () => {
    await setupPlatform({ ...process.env, KAFKA_BROKERS: kafkaBrokers, ELASTICSEARCH_URL: elasticsearchUrl, ...names });
    // The KafkaSource exists before the backlog arrives: its group has committed offsets at
    // the start of the topic (as the Knative controller commits them on creation).
    await producerBacklog(suffix, topic);
    runtime = new DevRuntime({
      root: resolve(import.meta.dirname, '..'),
      kafkaBrokers,
      elasticsearchUrl,
      basePort: 27080,
      stateDir: resolve(import.meta.dirname, `../.run/test-scaling-${suffix}`),
      isolate: suffix,
      only: ['enrich'],
      pings: false,
      clock,
      scalingTickMs: 100,
      env: { LOG_LEVEL: 'warn' },
    });
    await runtime.start();
  }, 120_000);

  afterAll(async () => {
    await runtime?.stop();
    rmSync(resolve(import.meta.dirname, `../.run/test-scaling-${suffix}`), { recursive: true, force: true });
  });

  it('activates from zero, scales out 1 → 4 in HPA steps with a consumer per vreplica, and returns to zero after the lag is gone', async () => {
    const source = runtime.topology.kafkaSources.find((s) => s.name === 'enrich')!;
    expect(source.scaling).toMatchObject({ minScale: 0, maxScale: 4, lagThreshold: 10_000 });
    expect(runtime.dispatcherSettings).toMatchObject({ podCapacity: 1, minReplicas: 0 });

    const deadline = Date.now() + 400_000;
    let atMax: { vreplicas: number; pods: string[]; members: number } | undefined;
    while (Date.now() < deadline) {
      const state = runtime.state().sources[0]!;
      // Four vreplicas placed, and Kafka reports four members once they have joined.
      if (state.vreplicas === 4 && state.members === 4) atMax ??= { vreplicas: state.vreplicas, pods: state.placements.map((p) => p.podName), members: state.members };
      if (atMax && state.lag === 0 && state.vreplicas === 0 && state.members === 0) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(atMax, 'enrich reached 4 vreplicas with 4 consumers').toEqual({
      vreplicas: 4,
      pods: ['kafka-source-dispatcher-0', 'kafka-source-dispatcher-1', 'kafka-source-dispatcher-2', 'kafka-source-dispatcher-3'],
      members: 4,
    });
    const decisions = runtime.scaling.decisions.filter((d) => d.source === 'enrich');
    const path = decisions.map((d) => `${d.by}:${d.from}→${d.to}`);

    // KEDA 0→1, then the HPA's scale-up limit max(2·r, 4) takes it to max-scale in one sync, …, KEDA →0.
    expect(path[0]).toBe('keda:0→1');
    expect(path[1]).toBe('hpa:1→4');
    expect(Math.max(...decisions.map((d) => d.to))).toBe(4);
    expect(path.at(-1)).toMatch(/^keda:\d+→0$/);
    const end = runtime.state();
    expect(end.sources[0]).toMatchObject({ lag: 0, vreplicas: 0, placements: [], members: 0 });

    // Every decision, recomputed from the recorded inputs.
    const steps = runtime.scaling.scalingSteps.filter((s) => s.source === 'enrich');
    const replay = new ConsumerGroupScaler({ ...source.scaling, partitions: steps[0]!.lags.length, nowMs: runtime.scaling.scalerStarts.get('enrich')!, reportHolds: true });
    const evaluations: Decision[] = steps.flatMap((s) => replay.step(s.atMs, s.lags));
    expect(evaluations.filter((d) => d.from !== d.to)).toEqual(decisions.map(({ source: _s, ...d }) => d));
  });
});
