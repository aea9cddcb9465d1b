/**
 * Consumer scaling through the local runtime, on real Kafka lag: a backlog activates
 * enrich's consumers from zero (KEDA), the HPA scales them out in its steps up to
 * max-scale, and once the lag is gone they go back to zero. Time for the scaling decisions
 * runs 20× faster (an injected clock); every decision is recomputed from its recorded
 * inputs with the pure KEDA/HPA formulas.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsumerScaler, hpaProposal, kafkaScalerMetric, type Decision } from '../cli/dev/scaling.ts';
import { DevRuntime } from '../cli/dev/runtime.ts';
import { setupPlatform } from '../cli/setup.ts';
import { shopEvent } from '../functions/generate/app.ts';
import { generateEvents, planFromRequest } from '../functions/generate/generate.ts';
import { EventProducer, toKafkaRecord } from '../shared/kafka.ts';
import { elasticsearchUrl, kafkaBrokers } from './infra.ts';
import { kafka } from './helpers.ts';

const SPEED = 20;
const BACKLOG = 100_000;

/** Commits offset 0 for enrich's group, then produces a backlog that no consumer has read. */
async function producerBacklog(suffix: string, topic: string): Promise<void> {
  const admin = kafka().admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.setOffsets({ groupId: `big-data-pipeline-enrich-${suffix}`, topic, partitions: ends.map((e) => ({ partition: e.partition, offset: '0' })) });
  await admin.disconnect();
  const now = Date.now();
  const plan = planFromRequest({ count: BACKLOG }, { source: '/scaling-test', id: suffix, time: new Date(now - 60_000).toISOString() }, now);
  const producer = new EventProducer(kafka(), { maxItems: 1000, maxWaitMs: 10, sendTimeoutMs: 30_000 });
  await producer.sendAll(topic, [...generateEvents(plan)].map((e) => toKafkaRecord(shopEvent(e), String(e.user_id))));
  await producer.close();
}

describe('consumer scaling on lag (accelerated clock)', { timeout: 600_000 }, () => {
  const suffix = randomBytes(4).toString('hex');
  const topic = `data-stream-${suffix}`;
  const t0 = Date.now();
  const clock = { now: () => t0 + (Date.now() - t0) * SPEED };
  let runtime: DevRuntime;

  beforeAll(async () => {
    const names = ['data-stream', 'events-enriched', 'windows', 'dead-letters'].map((n) => `${n}-${suffix}`);
    await setupPlatform({
      ...process.env,
      KAFKA_BROKERS: kafkaBrokers,
      ELASTICSEARCH_URL: elasticsearchUrl,
      TOPIC_RAW: names[0],
      TOPIC_ENRICHED: names[1],
      TOPIC_WINDOWS: names[2],
      TOPIC_DEAD_LETTERS: names[3],
      EVENTS_INDEX: `events-${suffix}`,
      AGGREGATES_INDEX: `events-aggregated-${suffix}`,
      FINALS_INDEX: `window-finals-${suffix}`,
    });
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

  it('activates from zero, scales out 1 → 4 → 8 in HPA steps, and returns to zero after the lag is gone', async () => {
    const source = runtime.topology.kafkaSources.find((s) => s.name === 'enrich')!;
    expect(source.scaling).toMatchObject({ minScale: 0, maxScale: 8, lagThreshold: 10_000 });

    const deadline = Date.now() + 400_000;
    let sawEight = false;
    while (Date.now() < deadline) {
      if (runtime.scalers.get('enrich')!.replicas === 8) sawEight = true;
      const state = runtime.state().sources[0]!;
      if (sawEight && state.lag === 0 && runtime.scalers.get('enrich')!.replicas === 0) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const decisions = runtime.decisions.filter((d) => d.source === 'enrich');
    const path = decisions.map((d) => `${d.by}:${d.from}→${d.to}`);

    // The shape: KEDA 0→1, then the HPA's legacy steps max(2·r, 4): 1→4→8 (capped by max-scale 8), …, KEDA →0.
    expect(path[0]).toBe('keda:0→1');
    expect(path.slice(1, 3)).toEqual(['hpa:1→4', 'hpa:4→8']);
    expect(Math.max(...decisions.map((d) => d.to))).toBe(8);
    expect(path.at(-1)).toMatch(/^keda:\d+→0$/);
    expect(runtime.scalers.get('enrich')!.replicas).toBe(0);
    expect(runtime.state().sources[0]!.lag).toBe(0);

    // Every decision, recomputed from the recorded inputs.
    const steps = runtime.scalingSteps.filter((s) => s.source === 'enrich');
    const replay = new ConsumerScaler({ ...source.scaling, partitions: steps[0]!.lags.length, nowMs: runtime.scalerStarts.get('enrich')!, reportHolds: true });
    const evaluations: Decision[] = steps.flatMap((s) => replay.step(s.atMs, s.lags));
    expect(evaluations.filter((d) => d.from !== d.to)).toEqual(decisions.map(({ source: _s, ...d }) => d));

    // …and each evaluation against the formulas written out here.
    const recommendations: { atMs: number; value: number }[] = [];
    for (const [i, d] of evaluations.entries()) {
      const lags = steps.find((s) => s.atMs === d.atMs)!.lags;
      const total = lags.reduce((a, b) => a + b, 0);
      expect(d.activity).toBe(total);
      expect(d.metric).toBe(kafkaScalerMetric({ partitionLags: lags, lagThreshold: 10_000, allowIdleConsumers: true }).metric);
      if (d.by === 'keda') {
        if (d.from === 0 && total > 0) expect(d.to).toBe(1);
        if (d.to === 0) {
          // Scale to zero only when inactive, and only after the cooldown since the last active poll.
          expect(total).toBe(0);
          const lastActive = evaluations.slice(0, i).filter((e) => e.by === 'keda' && e.activity > 0).at(-1)!;
          expect(d.atMs - lastActive.atMs).toBeGreaterThan(source.scaling.cooldownPeriodS * 1000);
        }
        continue;
      }
      if (d.from === 0) {
        expect(d.to).toBe(0); // the HPA does nothing at zero
        continue;
      }
      // AverageValue: keep the current count inside the 10 % tolerance, else ceil(metric / threshold).
      const ratio = d.metric / (10_000 * d.from);
      const proposal = Math.abs(ratio - 1) <= 0.1 ? d.from : Math.ceil(d.metric / 10_000);
      expect(proposal).toBe(hpaProposal({ metric: d.metric, targetPerPod: 10_000, statusReplicas: d.from }).replicas);
      recommendations.push({ atMs: d.atMs, value: proposal });
      const stabilized = Math.max(...recommendations.filter((r) => d.atMs - r.atMs <= 300_000).map((r) => r.value));
      const upLimit = Math.max(2 * d.from, 4);
      expect(d.to, `hpa at ${d.atMs}`).toBe(Math.min(Math.max(stabilized, 1), Math.min(8, upLimit)));
    }
  });
});
