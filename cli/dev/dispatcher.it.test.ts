/**
 * Scaling a dispatcher's consumer group through a Kafka outage, on the real test Kafka. The
 * group bootstraps through a TCP relay that refuses connections until "Kafka is back".
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka } from '../../shared/kafka.ts';
import { kafkaBrokers } from '../../test/infra.ts';
import { isolatedEnv, preparePlatform } from '../../test/helpers.ts';
import type { KafkaSourceSpec } from '../manifests/index.ts';
import { Dispatcher } from './dispatcher.ts';

/** A port that refuses connections until open(), then relays them to the test Kafka. */
class Relay {
  readonly #sockets = new Set<Socket>();
  #server: Server | undefined;
  constructor(readonly port: number) {}

  static async reserve(): Promise<Relay> {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as { port: number };
    await new Promise((resolve) => probe.close(resolve));
    return new Relay(port);
  }

  async open(): Promise<void> {
    const [host, port] = kafkaBrokers.split(',')[0]!.split(':');
    this.#server = createServer((client) => {
      const upstream = connect(Number(port), host);
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on('error', () => undefined).on('close', () => this.#sockets.delete(s));
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => this.#server!.listen(this.port, '127.0.0.1', resolve));
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    if (this.#server) await new Promise((resolve) => this.#server!.close(resolve));
  }
}

describe('dispatcher consumers through a Kafka outage (real Kafka)', () => {
  const env = isolatedEnv();
  let relay: Relay;
  beforeAll(async () => {
    await preparePlatform(env);
    relay = await Relay.reserve();
  });
  afterAll(() => relay.close());

  it('logs a failed scaling step, stays usable, and reaches the desired count once Kafka is back', async () => {
    const spec: KafkaSourceSpec = {
      name: 'enrich',
      topics: [env.TOPIC_RAW!],
      consumerGroup: `dispatcher-outage-${env.TOPIC_RAW}`,
      initialOffset: 'earliest',
      ordering: 'unordered',
      sink: 'enrich',
      delivery: { retry: 0, backoffPolicy: 'linear', backoffDelayMs: 0, timeoutMs: 1000 },
      consumers: 1,
      autoscaled: true,
      scaling: { minScale: 0, maxScale: 4, lagThreshold: 10, pollingIntervalS: 1, cooldownPeriodS: 1 },
    };
    const kafka = createKafka({ brokers: [`127.0.0.1:${relay.port}`], clientId: 'dispatcher-outage', connectionTimeoutMs: 500 });
    const log: string[] = [];
    const sink = { post: () => Promise.reject(new Error('the topic is empty: nothing is delivered')) };
    const dispatcher = new Dispatcher(spec, kafka, sink, undefined, 'test', (m) => log.push(m));
    const unhandled: unknown[] = [];
    const record = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', record);
    try {
      // Kafka unreachable: the step fails, is logged, and the promise still resolves.
      await expect(dispatcher.setPods(['dispatcher-0', 'dispatcher-1'])).resolves.toBeUndefined();
      expect(dispatcher.pods).toEqual([]);
      expect(log).toHaveLength(1);
      expect(log[0]).toMatch(/^enrich: placing consumers on dispatcher-0, dispatcher-1 stopped at none \(.+\); retrying on the next step$/);

      // Kafka is back: the next step (the runtime calls one every tick) reaches the placement.
      await relay.open();
      await dispatcher.setPods(['dispatcher-0', 'dispatcher-1']);
      expect(dispatcher.pods).toEqual(['dispatcher-0', 'dispatcher-1']);

      // Calls made while a change runs only move its target; a pod that stays keeps its consumer.
      const up = dispatcher.setPods(['dispatcher-0', 'dispatcher-1', 'dispatcher-2']);
      const down = dispatcher.setPods(['dispatcher-1']);
      expect(down).toBe(up);
      await down;
      expect(dispatcher.pods).toEqual(['dispatcher-1']);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', record);
      await dispatcher.stop();
    }
    expect(dispatcher.pods).toEqual([]);
  }, 90_000);
});
