/**
 * Check (a): the KEDA step of the emulation — shared/lag.ts (per-partition lag) and
 * cli/scaling/keda.ts (metric and activity) — against KEDA v2.20.2's own Kafka scaler
 * (pkg/scalers/kafka_scaler.go, built by tools/upstream/keda) on real Kafka states of the
 * test Kafka: topics of 1, 3 and 8 partitions with different backlogs, and consumer groups
 * that committed everything, part of the partitions, nothing at all, or ahead of the log;
 * each read with several trigger settings (lagThreshold, allowIdleConsumers,
 * activationLagThreshold, offsetResetPolicy, scaleToZeroOnInvalidOffset,
 * limitToPartitionsWithLag). Both read the same states; both must give the same metric and
 * activity. Deliberately altered emulators must be caught.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import type { Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KafkaScalerMetricInput, kafkaScalerActive, kafkaScalerMetric } from '../../cli/scaling/keda.ts';
import { type OffsetResetPolicy, partitionLag, readGroupLag } from '../../shared/lag.ts';
import { kafka } from '../helpers.ts';
import { kafkaBrokers } from '../infra.ts';
import { generate, report } from './cases.ts';
import { runCheck, withoutError } from './modules.ts';

const suffix = randomBytes(4).toString('hex');
/** Topics: partitions and how many records each partition holds. */
const TOPICS = [
  { name: `keda-one-${suffix}`, records: [37] },
  { name: `keda-three-${suffix}`, records: [0, 12, 250] },
  { name: `keda-eight-${suffix}`, records: [5, 5, 0, 90, 1, 30, 400, 7] },
];

interface Trigger {
  lagThreshold: number;
  allowIdleConsumers?: boolean;
  activationLagThreshold?: number;
  offsetResetPolicy?: OffsetResetPolicy;
  scaleToZeroOnInvalidOffset?: boolean;
  limitToPartitionsWithLag?: boolean;
}

interface KafkaState {
  group: string;
  topic: (typeof TOPICS)[number];
  /** Per partition: the committed offset, or undefined for none. */
  committed: (number | undefined)[];
  triggers: Trigger[];
}

interface KedaCase {
  id: string;
  metadata: Record<string, string>;
}

interface Answer {
  id: string;
  error?: string;
  metricMilli: number;
  active: boolean;
}

const trigger: fc.Arbitrary<Trigger> = fc
  .record({
    lagThreshold: fc.constantFrom(1, 5, 10, 100),
    idle: fc.constantFrom<'allow' | 'cap' | 'limit'>('allow', 'cap', 'cap', 'limit'),
    activationLagThreshold: fc.option(fc.constantFrom(0, 5, 50, 1000), { nil: undefined }),
    offsetResetPolicy: fc.option(fc.constantFrom<OffsetResetPolicy>('latest', 'earliest'), { nil: undefined }),
    scaleToZeroOnInvalidOffset: fc.option(fc.boolean(), { nil: undefined }),
  })
  .map(({ idle, ...t }) => ({ ...t, ...(idle === 'allow' ? { allowIdleConsumers: true } : idle === 'limit' ? { limitToPartitionsWithLag: true } : {}) }));

const stateArbitrary = fc.integer({ min: 0, max: TOPICS.length - 1 }).chain((t) =>
  fc.record({
    topic: fc.constant(TOPICS[t]!),
    committed: fc.tuple(
      ...TOPICS[t]!.records.map((n) =>
        fc.oneof(
          { weight: 2, arbitrary: fc.constant(undefined) },
          { weight: 2, arbitrary: fc.constant(n) },
          { weight: 3, arbitrary: fc.integer({ min: 0, max: n }) },
          { weight: 1, arbitrary: fc.constant(n + 3) },
        ),
      ),
    ),
    triggers: fc.array(trigger, { minLength: 1, maxLength: 3 }),
  }),
);

const STATES = 60;
const states: KafkaState[] = generate(stateArbitrary, STATES, 1).map((s, i) => ({ ...s, committed: [...s.committed], group: `keda-check-${suffix}-${i}` }));
// The corner cases by name, so every altered emulator below meets a state that tells it apart whatever the seed:
// a group that never committed, one that committed everything, a lag far over the partition cap (37 on one
// partition at lagThreshold 1), and a lag between one and two thresholds over it (15 at 10: integer division
// keeps it, a ceiling would cap it).
states.push(
  { group: `keda-check-${suffix}-over-cap`, topic: TOPICS[0]!, committed: [0], triggers: [{ lagThreshold: 1 }] },
  { group: `keda-check-${suffix}-near-cap`, topic: TOPICS[0]!, committed: [22], triggers: [{ lagThreshold: 10 }] },
  { group: `keda-check-${suffix}-never`, topic: TOPICS[2]!, committed: TOPICS[2]!.records.map(() => undefined), triggers: [{ lagThreshold: 10 }, { lagThreshold: 10, allowIdleConsumers: true }, { lagThreshold: 10, offsetResetPolicy: 'earliest' }] },
  { group: `keda-check-${suffix}-caught-up`, topic: TOPICS[1]!, committed: [...TOPICS[1]!.records], triggers: [{ lagThreshold: 1 }, { lagThreshold: 1, activationLagThreshold: 0 }] },
);

function metadataOf(state: KafkaState, t: Trigger): Record<string, string> {
  const m: Record<string, string> = { bootstrapServers: kafkaBrokers, consumerGroup: state.group, topic: state.topic.name, lagThreshold: String(t.lagThreshold) };
  if (t.allowIdleConsumers !== undefined) m['allowIdleConsumers'] = String(t.allowIdleConsumers);
  if (t.limitToPartitionsWithLag !== undefined) m['limitToPartitionsWithLag'] = String(t.limitToPartitionsWithLag);
  if (t.activationLagThreshold !== undefined) m['activationLagThreshold'] = String(t.activationLagThreshold);
  if (t.offsetResetPolicy !== undefined) m['offsetResetPolicy'] = t.offsetResetPolicy;
  if (t.scaleToZeroOnInvalidOffset !== undefined) m['scaleToZeroOnInvalidOffset'] = String(t.scaleToZeroOnInvalidOffset);
  return m;
}

const cases: (KedaCase & { state: KafkaState; trigger: Trigger })[] = states.flatMap((state, i) => state.triggers.map((t, k) => ({ id: `keda-${i}-${k}`, metadata: metadataOf(state, t), state, trigger: t })));

type Metric = (input: KafkaScalerMetricInput) => { metric: number; activity: number };
interface Verdict {
  metricMilli: number;
  active: boolean;
}

/** The emulation's KEDA step on the state as read from Kafka now. */
async function emulate(admin: Admin, c: (typeof cases)[number], metric: Metric = kafkaScalerMetric, lagOf: typeof partitionLag = partitionLag): Promise<Verdict> {
  const t = c.trigger;
  const policy = t.offsetResetPolicy ?? 'latest';
  const lag = await readGroupLag(admin, c.state.group, c.state.topic.name, policy);
  const partitionLags = lag.partitions.map((p) => lagOf(p.committed, p.latest, policy, t.scaleToZeroOnInvalidOffset ?? false));
  const m = metric({ partitionLags, lagThreshold: t.lagThreshold, allowIdleConsumers: t.allowIdleConsumers ?? false, limitToPartitionsWithLag: t.limitToPartitionsWithLag ?? false });
  return { metricMilli: m.metric * 1000, active: kafkaScalerActive(m.activity, t.activationLagThreshold ?? 0) };
}

describe('(a) the KEDA step vs KEDA v2.20.2’s Kafka scaler, on real Kafka states', { timeout: 600_000 }, () => {
  let admin: Admin;
  let answers: Map<string, Answer>;

  beforeAll(async () => {
    admin = kafka().admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: TOPICS.map((t) => ({ topic: t.name, numPartitions: t.records.length, replicationFactor: 1 })) });
    const producer = kafka().producer();
    await producer.connect();
    for (const t of TOPICS) {
      const messages = t.records.flatMap((n, partition) => Array.from({ length: n }, (_, i) => ({ partition, value: `${partition}:${i}` })));
      if (messages.length > 0) await producer.send({ topic: t.name, acks: -1, messages });
    }
    await producer.disconnect();
    // kafkajs commits a group's offsets through a consumer that waits for its first fetch: commit them all at once.
    await Promise.all(
      states.map((s) => {
        const partitions = s.committed.flatMap((offset, partition) => (offset === undefined ? [] : [{ partition, offset: String(offset) }]));
        return partitions.length > 0 ? admin.setOffsets({ groupId: s.group, topic: s.topic.name, partitions }) : undefined;
      }),
    );
    answers = await runCheck<Answer>('keda', ['kafka-scaler'], cases.map(({ id, metadata }) => ({ id, metadata })));
  }, 600_000);

  afterAll(async () => {
    await admin?.deleteTopics({ topics: TOPICS.map((t) => t.name) }).catch(() => undefined);
    await admin?.disconnect();
  });

  const upstream = (c: (typeof cases)[number]): Verdict => {
    const a = withoutError(answers.get(c.id)!);
    return { metricMilli: a.metricMilli, active: a.active };
  };

  async function differing(metric?: Metric, lagOf?: typeof partitionLag): Promise<string[]> {
    const out: string[] = [];
    for (const c of cases) {
      const e = await emulate(admin, c, metric, lagOf);
      const u = upstream(c);
      if (e.metricMilli !== u.metricMilli || e.active !== u.active) out.push(`${c.id} ${JSON.stringify({ committed: c.state.committed, trigger: c.trigger })}: emulated ${JSON.stringify(e)}, KEDA ${JSON.stringify(u)}`);
    }
    return out;
  }

  it(`gives KEDA's metric and activity on ${states.length} Kafka states`, async () => {
    expect(states.length).toBeGreaterThanOrEqual(50);
    const diffs = await differing();
    expect(diffs, report('keda', diffs, cases.length)).toEqual([]);
    // The states cover capped and uncapped metrics, inactive and active sources, synthetic lag of never-committed partitions.
    const verdicts = cases.map(upstream);
    expect(verdicts.some((v) => !v.active)).toBe(true);
    expect(verdicts.some((v) => v.active)).toBe(true);
    expect(new Set(verdicts.map((v) => v.metricMilli)).size).toBeGreaterThan(20);
  });

  it.each<[string, Metric]>([
    ['no partition cap', (i) => kafkaScalerMetric({ ...i, allowIdleConsumers: true, limitToPartitionsWithLag: false })],
    ['a cap with ceiling division', (i) => {
      const m = kafkaScalerMetric({ ...i, allowIdleConsumers: true, limitToPartitionsWithLag: false });
      const upper = i.limitToPartitionsWithLag ? i.partitionLags.filter((l) => l > 0).length : i.partitionLags.length;
      return !i.allowIdleConsumers && Math.ceil(m.metric / i.lagThreshold) > upper ? { ...m, metric: upper * i.lagThreshold } : m;
    }],
  ])('catches an emulator with %s', async (_what, metric) => {
    expect((await differing(metric)).length).toBeGreaterThan(0);
  });

  it('catches an emulator that counts a never-committed partition as no lag', async () => {
    expect((await differing(undefined, (committed, latest) => (committed < 0 ? 0 : latest - committed))).length).toBeGreaterThan(0);
  });
});
