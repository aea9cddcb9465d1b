/**
 * End to end through the local runtime: real function processes, real dispatchers with
 * KafkaSource semantics, real Kafka and Elasticsearch, topology read from knative/ and keda/.
 * 20,000 events, 5 % of them delivered twice and 1 % schema-invalid, while the index and
 * window-aggregate processes are each killed with SIGKILL once.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { CloudEvent } from 'cloudevents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DevRuntime } from '../cli/dev/runtime.ts';
import { setupPlatform } from '../cli/setup.ts';
import type { AggregateDoc } from '../functions/window-aggregate/aggregate.ts';
import { CeType } from '../shared/ce-types.ts';
import { EventProducer, fromKafkaRecord, toKafkaRecord } from '../shared/kafka.ts';
import type { RawEvent } from '../shared/schemas.ts';
import { runNames } from '../shared/topology.ts';
import { elasticsearchUrl, kafkaBrokers } from './infra.ts';
import { esClient, kafka, readTopic, shuffled, topicSize } from './helpers.ts';
import { aggregateDifferences, oracleOf } from './oracle.ts';

const TOTAL = 20_000;
const root = resolve(import.meta.dirname, '..');

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe('local runtime, end to end', { timeout: 900_000 }, () => {
  const suffix = randomBytes(4).toString('hex');
  const env = { KAFKA_BROKERS: kafkaBrokers, ELASTICSEARCH_URL: elasticsearchUrl, ...runNames(suffix) };
  const es = esClient();
  let runtime: DevRuntime;

  beforeAll(async () => {
    await setupPlatform({ ...process.env, ...env });
    runtime = new DevRuntime({
      root,
      kafkaBrokers,
      elasticsearchUrl,
      basePort: 28080,
      stateDir: resolve(root, `.run/test-dev-${suffix}`),
      isolate: suffix,
      pings: false,
      env: { LOG_LEVEL: 'warn' },
    });
    await runtime.start();
  }, 120_000);

  afterAll(async () => {
    await runtime?.stop();
    await es.close();
    rmSync(resolve(root, `.run/test-dev-${suffix}`), { recursive: true, force: true });
  });

  // The events alias exists once the first daily index does: until then, none indexed.
  const missingIsEmpty = { ignore_unavailable: true, allow_no_indices: true };
  const eventCount = async () => {
    await es.indices.refresh({ index: env.EVENTS_INDEX, ...missingIsEmpty });
    return (await es.count({ index: env.EVENTS_INDEX, ...missingIsEmpty })).count;
  };
  const settled = () => runtime.state().sources.every((s) => s.lag === 0 && s.inFlight === 0);

  it('indexes exactly the unique events, aggregates them exactly and dead-letters exactly the invalid ones, through two SIGKILLs', async () => {
    // 20,000 events over seven 1-minute windows, backfilled so they are all produced at once.
    const generate = runtime.pools.get('generate')!;
    const startTime = new Date(Math.floor((Date.now() - 10 * 60_000) / 60_000) * 60_000).toISOString();
    const request = new CloudEvent({ id: `e2e-${suffix}`, source: '/e2e', type: CeType.generateRequest, time: new Date().toISOString(), datacontenttype: 'application/json', data: { ratePerSecond: 50, durationSeconds: TOTAL / 50, startTime } }, false);
    const answer = await fetch(generate.url, {
      method: 'POST',
      headers: { 'ce-specversion': '1.0', 'ce-id': request.id, 'ce-source': request.source, 'ce-type': request.type, 'ce-time': request.time!, 'content-type': 'application/json' },
      body: JSON.stringify(request.data),
    });
    expect(answer.status).toBe(200);

    const records = await readTopic(env.TOPIC_RAW, TOTAL);
    const unique = records.map((r) => fromKafkaRecord(r).data as RawEvent);

    // At-least-once upstream: 5 % of the records again, and 1 % events that fail the schema.
    const producer = new EventProducer(kafka(), { maxItems: 500, maxWaitMs: 10, sendTimeoutMs: 10_000 });
    const duplicates = shuffled(records, 5).slice(0, TOTAL * 0.05).map((r) => ({ key: r.key, value: r.value, headers: r.headers }));
    const invalid = Array.from({ length: TOTAL * 0.01 }, (_, i) => {
      const event = { ...unique[i]!, event_id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, price: 5 };
      return new CloudEvent({ id: event.event_id, source: '/e2e', type: CeType.shopEvent, time: event.timestamp, datacontenttype: 'application/json', data: event }, false);
    });
    await producer.sendAll(env.TOPIC_RAW, [...duplicates, ...invalid.map((e) => toKafkaRecord(e, String((e.data as RawEvent).user_id)))]);
    await producer.close();

    // Kill -9 one index process and one window-aggregate process while events flow.
    await until('indexing to start', async () => (await eventCount()) >= 4000, 300_000);
    const victim = (service: string) => [...runtime.pools.get(service)!.instances.values()].find((i) => i.ready)!;
    await until('an index instance', async () => victim('index') !== undefined, 60_000);
    victim('index').process.kill('SIGKILL');
    await until('a window-aggregate instance', async () => victim('window-aggregate') !== undefined, 120_000);
    victim('window-aggregate').process.kill('SIGKILL');

    await until('every unique event indexed and every source drained', async () => (await eventCount()) === TOTAL && settled(), 600_000);
    expect(runtime.pools.get('index')!.restarts).toBeGreaterThanOrEqual(1);
    expect(runtime.pools.get('window-aggregate')!.restarts).toBeGreaterThanOrEqual(1);

    // The finalize tick (its PingSource is off in this test) makes every window final.
    const tick = await fetch(runtime.pools.get('window-aggregate')!.url, {
      method: 'POST',
      headers: { 'ce-specversion': '1.0', 'ce-id': `tick-${suffix}`, 'ce-source': '/e2e', 'ce-type': CeType.ping, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(tick.status).toBe(200);
    await until('the windows notices to drain', async () => settled(), 120_000);

    expect(await eventCount()).toBe(TOTAL);
    await es.indices.refresh({ index: env.AGGREGATES_INDEX });
    const stored = (await es.search<AggregateDoc>({ index: env.AGGREGATES_INDEX, size: 1000 })).hits.hits.map((h) => h._source!);
    expect(aggregateDifferences(stored, oracleOf(unique))).toEqual([]);
    for (const doc of stored) expect(doc.status).toBe('final');

    // Exactly the invalid events are dead letters, each with the reason attached. Delivery is
    // at least once, as on a cluster: a consumer-group rebalance (the dispatchers scale) before
    // an offset commit delivers a record again, and a 400 is dead-lettered again.
    await until('dead letters', async () => (await topicSize(env.TOPIC_DEAD_LETTERS)) >= invalid.length, 60_000);
    const letters = (await readTopic(env.TOPIC_DEAD_LETTERS, await topicSize(env.TOPIC_DEAD_LETTERS))).map(fromKafkaRecord);
    expect(new Set(letters.map((l) => l.id))).toEqual(new Set(invalid.map((e) => e.id)));
    for (const letter of letters) {
      expect(letter['knativeerrorcode']).toBe('400');
      expect(String(letter['knativeerrordest'])).toMatch(/^http:\/\/enrich\./);
      const reason = JSON.parse(Buffer.from(String(letter['knativeerrordata']), 'base64').toString('utf8'));
      expect(reason).toMatchObject({ code: 'BDP_ERR_INVALID_DATA', details: [{ path: '/price', message: 'must be >= 10' }] });
      expect(letter.type).toBe(CeType.shopEvent);
    }
  });
});
