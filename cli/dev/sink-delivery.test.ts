import { CloudEvent, type CloudEventV1 } from 'cloudevents';
import type { KafkaMessage, Message } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { fromKafkaRecord, type EventProducer } from '../../shared/kafka.ts';
import { SinkDelivery } from './sink-delivery.ts';

describe('SinkDelivery (virtual clock)', () => {
  const spec = { name: 'enrich', sink: 'enrich', delivery: { retry: 3, backoffPolicy: 'exponential', backoffDelayMs: 100, timeoutMs: 1000 } } as const;
  const message = { headers: { 'ce-id': 'e-1' }, body: '{}' };
  const event = (): CloudEventV1<unknown> => new CloudEvent({ id: 'e-1', source: '/test', type: 'com.example.shop.event', data: {} }, false);

  /** A virtual clock: waiting moves it on at once. */
  function clock() {
    const c = { now: 0, wait: async (ms: number) => void (c.now += ms) };
    return c;
  }

  /** A sink answering from `answers` in turn (an Error is a transport error), noting when each POST came. */
  function sink(time: { now: number }, answers: (number | Error)[]) {
    const at: number[] = [];
    return {
      at,
      post: async () => {
        at.push(time.now);
        const answer = answers.shift() ?? 200;
        if (answer instanceof Error) throw answer;
        return { status: answer, body: Buffer.from(`answer ${answer}`) };
      },
    };
  }

  /** A dead-letter producer that fails `failures` times first. */
  function deadLetters(failures = 0) {
    const sent: Message[] = [];
    const producer = {
      send: async (_topic: string, record: Message) => {
        if (failures-- > 0) throw new Error('broker down');
        sent.push(record);
      },
    } as unknown as EventProducer;
    return { sent, target: { producer, topic: 'dead-letters' } };
  }

  it('retries what the dispatcher retries with the source’s back-off (100 · 2^n ms), then delivers', async () => {
    const time = clock();
    const target = sink(time, [503, 429, new Error('ECONNRESET')]);
    const delivery = new SinkDelivery(spec, target, undefined, 'big-data-pipeline', () => undefined, time.wait);
    expect(await delivery.deliver(message, event)).toBe(true);
    expect(target.at).toEqual([0, 200, 600, 1400]);
    expect(delivery.stats).toEqual({ delivered: 1, deadLettered: 0, retries: 3, inFlight: 0 });
  });

  it('dead-letters a 4xx at once, with the reason, retrying the dead-letter sink until it stores it', async () => {
    const time = clock();
    const target = sink(time, [400]);
    const letters = deadLetters(2);
    const log: string[] = [];
    const delivery = new SinkDelivery(spec, target, letters.target, 'big-data-pipeline', (m) => log.push(m), time.wait);
    expect(await delivery.deliver(message, event)).toBe(true);
    expect(target.at).toEqual([0]);
    expect(time.now).toBe(2000);
    expect(log).toEqual(Array(2).fill('enrich: dead-letter sink unavailable (broker down); retrying'));
    const letter = fromKafkaRecord(letters.sent[0] as KafkaMessage);
    expect(letter).toMatchObject({ id: 'e-1', knativeerrorcode: '400', knativeerrordest: 'http://enrich.big-data-pipeline.svc.cluster.local' });
    expect(Buffer.from(String(letter['knativeerrordata']), 'base64').toString()).toBe('answer 400');
    expect(delivery.stats).toEqual({ delivered: 0, deadLettered: 1, retries: 0, inFlight: 0 });
  });

  it('after the last retry the record is done: dead-lettered, or dropped when the source has no dead-letter sink', async () => {
    const time = clock();
    const letters = deadLetters();
    const withSink = new SinkDelivery(spec, sink(time, Array<number>(4).fill(500)), letters.target, 'big-data-pipeline', () => undefined, time.wait);
    const withoutSink = new SinkDelivery(spec, sink(time, Array<number>(4).fill(500)), undefined, 'big-data-pipeline', () => undefined, time.wait);
    expect([await withSink.deliver(message, event), await withoutSink.deliver(message, event)]).toEqual([true, true]);
    expect(letters.sent).toHaveLength(1);
    for (const d of [withSink, withoutSink]) expect(d.stats).toEqual({ delivered: 0, deadLettered: 1, retries: 3, inFlight: 0 });
  });

  it('once stopped, attempts nothing more and leaves the record undone for redelivery', async () => {
    const target = sink(clock(), [503]);
    const letters = deadLetters();
    // Stopped while it waits to retry (a pod going away).
    const delivery: SinkDelivery = new SinkDelivery(spec, target, letters.target, 'big-data-pipeline', () => undefined, async () => delivery.stop());
    expect(await delivery.deliver(message, event)).toBe(false);
    expect(target.at).toEqual([0]);
    expect(letters.sent).toEqual([]);
  });
});
