/**
 * The four functions as the processes they are (their bundles), wired by the test, on real
 * Kafka and Elasticsearch: the test plays the KafkaSource, reading each topic and posting its
 * records over HTTP as binary CloudEvents, shuffled and partly duplicated (at-least-once
 * delivery). The results must still be exact, checked against an oracle computed here from
 * the unique raw events.
 */
import type { CloudEvent } from 'cloudevents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aggregateDocs, type AggregateDoc, type Cell } from '../functions/window-aggregate/aggregate.ts';
import { writeAggregates } from '../functions/window-aggregate/store.ts';
import { CeType } from '../shared/ce-types.ts';
import { eventsIndexOf } from '../shared/elasticsearch.ts';
import { fromKafkaRecord } from '../shared/kafka.ts';
import type { RawEvent } from '../shared/schemas.ts';
import { type FunctionProcess, startFunction } from './function-process.ts';
import { aggregateDifferences, oracleOf } from './oracle.ts';
import { ce, endOffsets, esClient, isolatedEnv, preparePlatform, readTopic, shuffled, withConcurrency } from './helpers.ts';

const CONCURRENCY = 50;
const RATE = 40;
const DURATION_S = 330; // 13,200 events over six 1-minute windows (the last one half full)
const TOTAL = RATE * DURATION_S;
const TOUCH_DEBOUNCE_MS = 500;

describe('pipeline: generate → enrich → index → window-aggregate (real Kafka + Elasticsearch)', { timeout: 600_000 }, () => {
  const env = isolatedEnv({ TOUCH_DEBOUNCE_MS: String(TOUCH_DEBOUNCE_MS) });
  const es = esClient();
  let servers: { generate: FunctionProcess; enrich: FunctionProcess; index: FunctionProcess; aggregate: FunctionProcess; aggregate2: FunctionProcess };
  const running: FunctionProcess[] = [];
  const startTimeMs = Math.floor((Date.now() - 12 * 60_000) / 60_000) * 60_000;
  const request = ce({ type: CeType.generateRequest, id: 'load-1', source: '/it', time: new Date().toISOString(), data: { ratePerSecond: RATE, durationSeconds: DURATION_S, startTime: new Date(startTimeMs).toISOString(), seed: 7 } });
  let uniqueEvents: RawEvent[] = [];
  let rawDeliveries: CloudEvent<unknown>[] = [];

  const post = async (server: FunctionProcess, events: CloudEvent<unknown>[], concurrency = CONCURRENCY) => {
    const statuses = await withConcurrency(events, concurrency, async (e) => (await server.post(e)).statusCode);
    const bad = statuses.filter((s) => s !== 200);
    expect(bad, `non-200 answers: ${[...new Set(bad)].join(',')}`).toEqual([]);
  };

  /** Delivers every window notice produced since `fromOffset`, in order, like an ordered KafkaSource. */
  let noticesDelivered = new Map<number, number>();
  let delivered = 0;
  const deliverNotices = async () => {
    await new Promise((r) => setTimeout(r, TOUCH_DEBOUNCE_MS + 200)); // let trailing (debounced) notices go out
    const ends = await endOffsets(env.TOPIC_WINDOWS!);
    const total = [...ends.values()].reduce((a, b) => a + b, 0);
    const records = await readTopic(env.TOPIC_WINDOWS!, total - delivered, noticesDelivered);
    noticesDelivered = ends;
    delivered = total;
    await post(servers.aggregate, records.map(fromKafkaRecord), 1);
  };

  const tick = async () => {
    const res = await servers.aggregate.post(ce({ type: CeType.ping, data: {} }));
    expect(res.statusCode).toBe(200);
    return res.json();
  };

  const storedAggregates = async (): Promise<AggregateDoc[]> => {
    await es.indices.refresh({ index: env.AGGREGATES_INDEX! });
    const res = await es.search<AggregateDoc>({ index: env.AGGREGATES_INDEX!, size: 1000 });
    return res.hits.hits.map((h) => h._source!);
  };

  beforeAll(async () => {
    await preparePlatform(env);
    const start = (name: string) => startFunction(name, env).then((fn) => {
      running.push(fn);
      return fn;
    });
    const starting = [start('generate'), start('enrich'), start('index'), start('window-aggregate'), start('window-aggregate')] as const;
    // Every start settles before a failed one is reported, so afterAll stops all that did start.
    await Promise.allSettled(starting);
    const [generate, enrich, index, aggregate, aggregate2] = await Promise.all(starting);
    servers = { generate, enrich, index, aggregate, aggregate2 };
  }, 120_000);

  afterAll(async () => {
    await Promise.all(running.map((fn) => fn.stop()));
    await es.close();
  });

  it(`indexes exactly the ${TOTAL} unique events and aggregates them exactly, despite 5 % duplicates and shuffling`, async () => {
    const res = await servers.generate.post(request);
    expect(res.statusCode).toBe(200);
    expect(res.json().produced).toBe(TOTAL);

    const rawRecords = await readTopic(env.TOPIC_RAW!, TOTAL);
    rawDeliveries = rawRecords.map(fromKafkaRecord);
    uniqueEvents = [...new Map(rawDeliveries.map((e) => [e.id, e.data as RawEvent])).values()];
    expect(uniqueEvents).toHaveLength(TOTAL);
    const windows = new Set(uniqueEvents.map((e) => e.timestamp.slice(0, 16)));
    expect(windows.size).toBeGreaterThanOrEqual(5);

    const withDuplicates = <T>(items: T[], seed: number) => shuffled([...items, ...shuffled(items, seed).slice(0, Math.round(items.length * 0.05))], seed + 1);
    await post(servers.enrich, withDuplicates(rawDeliveries, 11));

    const enrichedRecords = await readTopic(env.TOPIC_ENRICHED!, Math.round(TOTAL * 1.05));
    await post(servers.index, withDuplicates(enrichedRecords.map(fromKafkaRecord), 23));
    await deliverNotices();
    await tick();

    await es.indices.refresh({ index: env.EVENTS_INDEX! });
    expect((await es.count({ index: env.EVENTS_INDEX! })).count).toBe(TOTAL);

    const stored = await storedAggregates();
    expect(aggregateDifferences(stored, oracleOf(uniqueEvents))).toEqual([]);
    for (const doc of stored) expect(doc.status).toBe('final');
  });

  it('a generate.request delivered again with the same CE id yields no extra events', async () => {
    const before = await endOffsets(env.TOPIC_RAW!);
    expect((await servers.generate.post(request)).statusCode).toBe(200);
    const replay = (await readTopic(env.TOPIC_RAW!, TOTAL, before)).map(fromKafkaRecord);
    expect(new Set(replay.map((e) => e.id))).toEqual(new Set(rawDeliveries.map((e) => e.id)));
    const firstById = new Map(rawDeliveries.map((e) => [e.id, JSON.stringify(e.data)]));
    for (const e of replay) expect(JSON.stringify(e.data)).toBe(firstById.get(e.id));

    const enrichedBefore = await endOffsets(env.TOPIC_ENRICHED!);
    await post(servers.enrich, replay);
    const enriched = await readTopic(env.TOPIC_ENRICHED!, TOTAL, enrichedBefore);
    await post(servers.index, enriched.map(fromKafkaRecord));
    await deliverNotices();
    await es.indices.refresh({ index: env.EVENTS_INDEX! });
    expect((await es.count({ index: env.EVENTS_INDEX! })).count).toBe(TOTAL);
  });

  it('a late event raises late_events of its final window by one; a late duplicate does not', async () => {
    const cellOf = async (event: RawEvent) => {
      const t = Date.parse(event.timestamp);
      const window = new Date(t - (t % 60_000)).toISOString();
      return (await storedAggregates()).find((d) => d.window_start === window && d.event_type === event.event_type && d.region === event.region)!;
    };
    // A new event (another request) dated inside the first, already final, window.
    const late = ce({ type: CeType.generateRequest, id: 'late-1', source: '/it', data: { count: 1, startTime: new Date(startTimeMs + 5_000).toISOString() } });
    const rawBefore = await endOffsets(env.TOPIC_RAW!);
    expect((await servers.generate.post(late)).statusCode).toBe(200);
    const [lateRecord] = await readTopic(env.TOPIC_RAW!, 1, rawBefore);
    const lateEvent = fromKafkaRecord(lateRecord!);
    const before = await cellOf(lateEvent.data as RawEvent);

    const viaPipeline = async (raw: CloudEvent<unknown>) => {
      const enrichedBefore = await endOffsets(env.TOPIC_ENRICHED!);
      await post(servers.enrich, [raw]);
      const [enriched] = await readTopic(env.TOPIC_ENRICHED!, 1, enrichedBefore);
      await post(servers.index, [fromKafkaRecord(enriched!)]);
      await deliverNotices();
    };

    await viaPipeline(lateEvent);
    const after = await cellOf(lateEvent.data as RawEvent);
    expect(after.status).toBe('final');
    expect(after.count).toBe((before?.count ?? 0) + 1);
    expect(after.final_count).toBe(before?.final_count ?? 0);
    expect(after.late_events).toBe((before?.late_events ?? 0) + 1);

    // A duplicate of an on-time event arriving after finalization changes nothing.
    const onTime = rawDeliveries[0]!;
    const cellBefore = await cellOf(onTime.data as RawEvent);
    await viaPipeline(onTime);
    const cellAfter = await cellOf(onTime.data as RawEvent);
    expect(cellAfter.count).toBe(cellBefore.count);
    expect(cellAfter.late_events).toBe(cellBefore.late_events);
  });

  it('concurrent recomputations of one window from two instances never leave the older result', async () => {
    // Two instances, each told about the window over HTTP as the dispatcher would.
    const touch = (server: FunctionProcess) => server.post(ce({ type: CeType.windowTouched, data: { window_start: windowStart } })).then((r) => expect(r.statusCode).toBe(200));
    const windowStartMs = startTimeMs - 60_000; // a window of its own, before the generated ones
    const windowStart = new Date(windowStartMs).toISOString();
    const indexedAt = () => new Date().toISOString();
    const recomputes: Promise<unknown>[] = [];
    for (let round = 0; round < 15; round++) {
      await es.index({
        index: eventsIndexOf(env.EVENTS_INDEX!, windowStartMs),
        id: `concurrent-${round}`,
        document: { event_id: `concurrent-${round}`, timestamp: new Date(windowStartMs + round * 1000).toISOString(), window_start: windowStart, event_type: 'click', region: 'SA', user_id: 2000 + round, price_cents: 1000, quantity: 1, revenue_cents: 0, indexed_at: indexedAt() },
      });
      recomputes.push(touch(servers.aggregate), touch(servers.aggregate2));
    }
    await Promise.all(recomputes);
    const stored = (await storedAggregates()).find((d) => d.window_start === windowStart)!;
    expect(stored.count).toBe(15);

    // A result computed earlier (fewer events) written late is refused by its version, and that is success.
    const stale: Cell = { event_type: 'click', region: 'SA', count: 3, revenue_cents: 0, quantity: 3, price_cents_sum: 3000, unique_users: 3, max_indexed_at: null };
    await writeAggregates(es, env.AGGREGATES_INDEX!, aggregateDocs(windowStartMs, [stale], { 'click|SA': 15 }, Date.now()));
    await writeAggregates(es, env.AGGREGATES_INDEX!, aggregateDocs(windowStartMs, [stale], undefined, Date.now()));
    const after = (await storedAggregates()).find((d) => d.window_start === windowStart)!;
    expect(after.count).toBe(15);
  });
});
