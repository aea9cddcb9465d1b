/**
 * Scaling the dispatcher's consumer group when Kafka fails: no real Kafka, a double of the
 * dispatcher's consumer factory whose consumers fail to connect on demand.
 */
import type { ConsumerCrashEvent } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import type { KafkaSourceSpec } from '../manifests.ts';
import { Dispatcher, type ConsumerFactory, type DispatcherConsumer } from './dispatcher.ts';

const spec: KafkaSourceSpec = {
  name: 'enrich',
  topics: ['data-stream'],
  consumerGroup: 'enrich',
  initialOffset: 'earliest',
  ordering: 'unordered',
  sink: 'enrich',
  delivery: { retry: 0, backoffPolicy: 'linear', backoffDelayMs: 0, timeoutMs: 1000 },
  scaling: { minScale: 0, maxScale: 4, lagThreshold: 10, pollingIntervalS: 1, cooldownPeriodS: 1 },
};

class FakeConsumer implements DispatcherConsumer {
  readonly events = { CRASH: 'consumer.crash' } as const;
  connected = false;
  #crash: ((event: ConsumerCrashEvent) => void) | undefined;
  constructor(private readonly failConnect: boolean) {}
  on(_event: 'consumer.crash', listener: (event: ConsumerCrashEvent) => void): void {
    this.#crash = listener;
  }
  async connect(): Promise<void> {
    if (this.failConnect) throw new Error('Connection error: ECONNREFUSED');
    this.connected = true;
  }
  async subscribe(): Promise<void> {}
  async run(): Promise<void> {}
  pause(): void {}
  async stop(): Promise<void> {}
  async disconnect(): Promise<void> {
    this.connected = false;
  }
  async commitOffsets(): Promise<void> {}
  crash(restart: boolean): void {
    this.connected = restart;
    this.#crash?.({ id: '0', type: 'consumer.crash', timestamp: 0, payload: { error: new Error('boom'), groupId: spec.consumerGroup, restart } });
  }
}

/** Consumers whose connect fails for the first `failures` of them. */
function factory(failures: number): ConsumerFactory & { made: FakeConsumer[] } {
  const made: FakeConsumer[] = [];
  return {
    made,
    consumer: () => {
      const consumer = new FakeConsumer(made.length < failures);
      made.push(consumer);
      return consumer;
    },
  };
}

function dispatcher(kafka: ConsumerFactory, log: string[]): Dispatcher {
  return new Dispatcher(spec, kafka, { post: () => Promise.reject(new Error('no sink in this test')) }, undefined, 'test', (m) => log.push(m));
}

describe('Dispatcher consumer scaling', () => {
  it('logs a failed connect, does not poison later changes, and retries on the next call', async () => {
    const kafka = factory(1);
    const log: string[] = [];
    const d = dispatcher(kafka, log);

    await expect(d.setConsumers(2)).resolves.toBeUndefined();
    expect(d.consumers).toBe(0);
    expect(log).toEqual(['enrich: scaling to 2 consumers stopped at 0 (Connection error: ECONNREFUSED); retrying on the next step']);
    expect(kafka.made[0]!.connected).toBe(false);

    // Kafka is back: the next scaling step reaches the desired count.
    await d.setConsumers(2);
    expect(d.consumers).toBe(2);
    expect(kafka.made).toHaveLength(3);

    // Calls made while a change runs only move its target.
    const up = d.setConsumers(4);
    const down = d.setConsumers(1);
    expect(down).toBe(up);
    await down;
    expect(d.consumers).toBe(1);

    await d.stop();
    expect(d.consumers).toBe(0);
    expect(kafka.made.filter((c) => c.connected)).toEqual([]);
  });

  it('replaces a consumer that crashed for good on the next call, keeps one kafkajs restarts', async () => {
    const kafka = factory(0);
    const log: string[] = [];
    const d = dispatcher(kafka, log);
    await d.setConsumers(2);

    kafka.made[0]!.crash(true);
    expect(d.consumers).toBe(2);
    kafka.made[1]!.crash(false);
    expect(d.consumers).toBe(1);
    expect(log).toEqual([
      'enrich: consumer crashed (boom); kafkajs restarts it',
      'enrich: consumer crashed for good (boom); the next scaling step replaces it',
    ]);

    await d.setConsumers(2);
    expect(d.consumers).toBe(2);
    expect(kafka.made).toHaveLength(3);
    await d.stop();
  });
});
