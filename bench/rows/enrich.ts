/**
 * Row 2: enrich end to end — binary CloudEvents in over HTTP, each answered once its
 * enriched record is acknowledged by Kafka — against producing the very records enrich
 * would produce straight from this process, at the batch size that does best. The direct
 * producing runs with kafkajs (what enrich uses; the ratio) and with @platformatic/kafka
 * (for comparison only), and the CPU this process spends per record with each client says
 * what switching clients could save the function.
 */
import { Producer, ProduceAcks, stringSerializers } from '@platformatic/kafka';
import { Partitioners, type Message } from 'kafkajs';
import type { BenchRow } from '../lib/context.ts';
import { CpuMeter, alternate, inLanes, medianOf, stats } from '../lib/measure.ts';
import { terminate } from '../../cli/dev/terminate.ts';
import { type Run, type Spawned, type Tally, atLeast, binary, compared, driveRound, freshRawEvents, processes, rounded, spawnFunction, thousands } from '../lib/fixtures.ts';
import { enrichedEvent } from '../../shared/events.ts';
import { enrichEvent } from '../../functions/enrich/enrich.ts';
import { shopEvent } from '../../shared/events.ts';
import { createKafka, toKafkaRecord } from '../../shared/kafka.ts';

/** What one KafkaSource consumer keeps in flight is 50–99. */
const CONCURRENCY = 100;
const EVENTS = 20_000;
const WARMUP = 5_000;
/** 35 is enrich's BATCH_MAX_ITEMS, the size it mostly sends; the rest look for the best. */
const SIZES = [35, 100, 500, 1000, 5000];
const TOPIC = 'events-enriched';

type Client = 'kafkajs' | '@platformatic/kafka';
type PerSize = Record<Client, Record<number, Run>>;

export const enrichRow: BenchRow = {
  ids: ['2'],
  async run(ctx) {
    const now = Date.now();
    const raw = freshRawEvents('enrich', EVENTS, now);
    const bodies = raw.map((e) => binary(shopEvent(e)));
    // The records enrich would produce for these events, built before any timing.
    const records: Message[] = raw.map((e) => {
      const enriched = enrichEvent(e, now);
      return toKafkaRecord(enrichedEvent(enriched), String(enriched.user_id));
    });
    const messages = records.map((r) => ({
      topic: TOPIC,
      key: r.key as string,
      value: r.value as string,
      headers: r.headers as Record<string, string>,
      ...(r.timestamp ? { timestamp: BigInt(r.timestamp) } : {}),
    }));

    const kafkajs = createKafka({ brokers: [ctx.kafkaBrokers], clientId: 'bench-kafkajs' }).producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
    });
    const platformatic = new Producer({
      clientId: 'bench-platformatic',
      bootstrapBrokers: [ctx.kafkaBrokers],
      serializers: stringSerializers,
      acks: ProduceAcks.ALL,
      idempotent: false,
      autocreateTopics: false,
    });
    const send: Record<Client, (from: number, to: number) => Promise<unknown>> = {
      kafkajs: (from, to) => kafkajs.sendBatch({ topicMessages: [{ topic: TOPIC, messages: records.slice(from, to) }], acks: -1, timeout: 10_000 }),
      '@platformatic/kafka': (from, to) => platformatic.send({ messages: messages.slice(from, to), acks: ProduceAcks.ALL }),
    };

    let fn: Spawned | undefined;
    const tally: Tally = { problems: [], batchMeans: [] };
    const { problems } = tally;
    try {
      await kafkajs.connect();
      fn = await spawnFunction(ctx, 'enrich', 20, { KAFKA_BROKERS: ctx.kafkaBrokers });
      const enrich = fn;
      const subject = (round: number) => driveRound(ctx, enrich, 'enrich', round, round < 0 ? bodies.slice(0, WARMUP) : bodies, CONCURRENCY, 'kafka', tally);

      // One batch in flight at a time: the producer's own ceiling at that size.
      const produce = async (client: Client, size: number, count: number): Promise<Run> => {
        const meter = new CpuMeter(processes(ctx, {}, 'producer'));
        meter.start();
        const started = performance.now();
        await inLanes(count, size, 1, send[client]);
        const seconds = (performance.now() - started) / 1000;
        return { perSecond: count / seconds, cpu: meter.stop(count) };
      };
      const rounds: PerSize[] = [];
      const baseline = async (round: number): Promise<Run> => {
        const perSize: PerSize = { kafkajs: {}, '@platformatic/kafka': {} };
        for (const client of ['kafkajs', '@platformatic/kafka'] as const) {
          for (const size of SIZES) perSize[client][size] = await produce(client, size, round < 0 ? WARMUP : EVENTS);
          ctx.log(`${client}${round < 0 ? ' (warm-up)' : ''}: ${SIZES.map((s) => `${s}: ${thousands(perSize[client][s]!.perSecond)}/s`).join(', ')}`);
        }
        if (round >= 0) rounds.push(perSize);
        return best(perSize.kafkajs).run;
      };

      const runs = await alternate(ctx.rounds, subject, baseline, ctx.log);

      // Per client and size, the medians over the rounds.
      const table = Object.fromEntries(
        (['kafkajs', '@platformatic/kafka'] as const).map((client) => [
          client,
          Object.fromEntries(
            SIZES.map((size) => {
              const all = rounds.map((r) => r[client][size]!);
              return [size, { perSecond: stats(all.map((r) => r.perSecond)).median, cpu: medianOf(all.map((r) => r.cpu)) }];
            }),
          ),
        ]),
      ) as PerSize;
      const bestJs = best(table.kafkajs);
      const bestPl = best(table['@platformatic/kafka']);
      const title = 'enrich: CE in → produced to Kafka, acked';
      const m = compared(title, `kafkajs sendBatch of the same records, best batch size (${bestJs.size})`, runs);
      const meanBatch = stats(tally.batchMeans).median;
      const producerAt = (client: Client, size: number) => table[client][size]!.cpu['producer'] ?? NaN;
      const fnCpu = m.subject.cpuPerEvent?.['function'] ?? NaN;
      const saved = producerAt('kafkajs', 35) - producerAt('@platformatic/kafka', 35);
      return [
        {
          id: '2',
          title,
          ...m,
          ratioMeaning: 'events/s through enrich (HTTP in, validate, enrich, produce, answer on ack) ÷ events/s of kafkajs producing the same enriched records from one process at its best batch size, acks = -1',
          target: atLeast(0.6, m.ratio, problems),
          notes: [
            `${thousands(EVENTS)} events per round, ${CONCURRENCY} concurrent binary CloudEvents over loopback; enrich is dist/enrich/index.mjs with its default batching (it sent batches of ${meanBatch.toFixed(0)} records on average).`,
            `Direct producing: one sendBatch in flight, batch sizes ${SIZES.join(', ')}; best kafkajs ${thousands(bestJs.run.perSecond)}/s at ${bestJs.size}, best @platformatic/kafka ${thousands(bestPl.run.perSecond)}/s at ${bestPl.size}.`,
            `Producer CPU per record (this process): kafkajs ${producerAt('kafkajs', 35).toFixed(0)} µs at 35 and ${producerAt('kafkajs', bestJs.size).toFixed(0)} µs at ${bestJs.size}; @platformatic/kafka ${producerAt('@platformatic/kafka', 35).toFixed(0)} µs at 35 and ${producerAt('@platformatic/kafka', bestPl.size).toFixed(0)} µs at ${bestPl.size}. At enrich's batch size, switching clients would ${saved >= 0 ? 'save' : 'add'} about ${Math.abs(saved).toFixed(0)} µs of the ${fnCpu.toFixed(0)} µs enrich spends per event (${Math.abs((saved / fnCpu) * 100).toFixed(0)} %); not switched.`,
            ...(problems.length ? [`Requests that failed (measurement not valid): ${problems.join('; ')}.`] : []),
          ],
          details: {
            eventsPerRound: EVENTS,
            concurrency: CONCURRENCY,
            enrichMeanBatch: Math.round(meanBatch * 10) / 10,
            direct: Object.fromEntries(
              Object.entries(table).map(([client, sizes]) => [
                client,
                Object.fromEntries(Object.entries(sizes).map(([size, r]) => [size, { perSecond: Math.round(r.perSecond), cpuPerEvent: rounded(r.cpu, 1) }])),
              ]),
            ),
          },
        },
      ];
    } finally {
      if (fn) await terminate(fn.child);
      await kafkajs.disconnect().catch(() => undefined);
      await platformatic.close().catch(() => undefined);
    }
  },
};

function best(perSize: Record<number, Run>): { size: number; run: Run } {
  const [size, run] = Object.entries(perSize).reduce((a, b) => (b[1].perSecond > a[1].perSecond ? b : a));
  return { size: Number(size), run };
}
