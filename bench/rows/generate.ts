/**
 * Row 4: generate's output rate — generate.request CloudEvents asking for many events each,
 * dated far enough back that no event waits for its time, each answered once all its events
 * are acknowledged — against kafkajs producing the same events, already built as CloudEvent
 * records, in chunks of the size generate sends. Both keep the same number of requests
 * (lanes) going, so the difference is what generating and encoding the events costs.
 */
import { readFileSync } from 'node:fs';
import { CloudEvent } from 'cloudevents';
import { Partitioners, type Message } from 'kafkajs';
import type { BenchRow } from '../lib/context.ts';
import { CpuMeter, alternate, drive, inLanes } from '../lib/measure.ts';
import { terminate } from '../../cli/dev/terminate.ts';
import { type Run, type Spawned, atLeast, binary, compared, failures, processes, spawnFunction, thousands } from '../lib/fixtures.ts';
import { shopEvent } from '../../shared/events.ts';
import { generateEvents, planFromRequest } from '../../functions/generate/generate.ts';
import { CeType } from '../../shared/ce-types.ts';
import { createKafka, toKafkaRecord } from '../../shared/kafka.ts';

const REQUESTS = 20;
const PER_REQUEST = 10_000;
const WARMUP_REQUESTS = 4;
/** Requests in flight at once, and direct sendBatch lanes: one for Node, one for Kafka on 2 cores. */
const LANES = 2;
const TOPIC = 'data-stream';

/** shared/kafka.ts's DIRECT_CHUNK (not exported): read, so the baseline follows it. */
function directChunk(root: string): number {
  const m = /const DIRECT_CHUNK = ([\d_]+);/.exec(readFileSync(`${root}/shared/kafka.ts`, 'utf8'));
  if (!m) throw new Error('shared/kafka.ts no longer declares DIRECT_CHUNK: update row 4');
  return Number(m[1]!.replaceAll('_', ''));
}

let requestNumber = 0;
/** A count request whose events are all due already: its time is a minute ago, a count spreads over one second. */
function generateRequest(count: number): CloudEvent<{ count: number }> {
  return new CloudEvent({
    id: `bench-generate-${Date.now()}-${requestNumber++}`,
    source: '/bench',
    type: CeType.generateRequest,
    time: new Date(Date.now() - 60_000).toISOString(),
    datacontenttype: 'application/json',
    data: { count },
  });
}

export const generateRow: BenchRow = {
  ids: ['4'],
  async run(ctx) {
    const chunk = directChunk(ctx.root);
    // The events generate makes for the same requests, as the records it sends, built before any timing.
    const records: Message[] = [];
    for (let r = 0; r < REQUESTS; r++) {
      const request = generateRequest(PER_REQUEST);
      const plan = planFromRequest(request.data!, request, Date.now());
      for (const e of generateEvents(plan)) records.push(toKafkaRecord(shopEvent(e), String(e.user_id)));
    }
    const producer = createKafka({ brokers: [ctx.kafkaBrokers], clientId: 'bench-direct' }).producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
    });
    let fn: Spawned | undefined;
    const problems: string[] = [];
    try {
      await producer.connect();
      fn = await spawnFunction(ctx, 'generate', 60, { KAFKA_BROKERS: ctx.kafkaBrokers });
      const { port } = fn;
      const pid = fn.child.pid;

      const subject = async (round: number): Promise<Run> => {
        const requests = Array.from({ length: round < 0 ? WARMUP_REQUESTS : REQUESTS }, () => binary(generateRequest(PER_REQUEST)));
        const events = requests.length * PER_REQUEST;
        const meter = new CpuMeter(processes(ctx, { function: pid }));
        meter.start();
        const result = await drive(port, requests, LANES);
        const cpu = meter.stop(events);
        const failed = failures(result.statuses);
        if (failed) problems.push(`generate round ${round}: ${failed}`);
        const perSecond = events / result.seconds;
        ctx.log(`generate${round < 0 ? ' (warm-up)' : ''}: ${thousands(perSecond)} events/s`);
        return { perSecond, cpu };
      };

      const baseline = async (round: number): Promise<Run> => {
        const count = round < 0 ? WARMUP_REQUESTS * PER_REQUEST : records.length;
        const meter = new CpuMeter(processes(ctx, {}, 'producer'));
        meter.start();
        const started = performance.now();
        await inLanes(count, chunk, LANES, (from, to) => producer.sendBatch({ topicMessages: [{ topic: TOPIC, messages: records.slice(from, to) }], acks: -1, timeout: 10_000 }));
        const perSecond = count / ((performance.now() - started) / 1000);
        ctx.log(`kafkajs direct${round < 0 ? ' (warm-up)' : ''}: ${thousands(perSecond)} events/s`);
        return { perSecond, cpu: meter.stop(count) };
      };

      const runs = await alternate(ctx.rounds, subject, baseline, ctx.log);
      const title = 'generate: events produced per second';
      const m = compared(title, `kafkajs producing pre-built records, sendBatch of ${chunk}`, runs);
      return [
        {
          id: '4',
          title,
          ...m,
          ratioMeaning: `events/s acknowledged through generate (generate, encode as CloudEvent records, produce in chunks of ${chunk}) ÷ events/s of kafkajs producing the same records, pre-built, in chunks of ${chunk}, acks = -1, ${LANES} lanes each`,
          target: atLeast(0.8, m.ratio, problems),
          notes: [
            `${REQUESTS} generate.request events of {"count": ${thousands(PER_REQUEST)}} per round, ${LANES} at a time, dated a minute back so nothing is paced; events/s = events acknowledged ÷ seconds until the last answer. dist/generate/index.mjs.`,
            ...(problems.length ? [`Requests that failed (measurement not valid): ${problems.join('; ')}.`] : []),
          ],
          details: { requestsPerRound: REQUESTS, eventsPerRequest: PER_REQUEST, lanes: LANES, chunk },
        },
      ];
    } finally {
      if (fn) await terminate(fn.child);
      await producer.disconnect().catch(() => undefined);
    }
  },
};
