import { CloudEvent, HTTP } from 'cloudevents';
import { describe, expect, it } from 'vitest';
import { toKafkaRecord } from '../../shared/kafka.ts';
import { PartitionOffsets, backoffMs, deadLetter, deliveredEvent, deliveredMessage, isRetryable } from './delivery.ts';

const origin = { namespace: 'big-data-pipeline', source: 'enrich', topic: 'data-stream', partition: 3 };
const asRecord = (m: ReturnType<typeof toKafkaRecord>, offset: string) => ({
  key: m.key === null || m.key === undefined ? null : Buffer.from(String(m.key)),
  value: m.value === null || m.value === undefined ? null : Buffer.from(String(m.value)),
  headers: Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, Buffer.from(String(v))])),
  offset,
  timestamp: '1795536000000',
});

describe('KafkaSource delivery semantics', () => {
  it('passes a CloudEvent record through with its own id and adds the Kafka extensions', () => {
    const original = new CloudEvent({ id: 'evt-1', source: '/gen', type: 'dev.bigdatapipeline.shop.event.v1', time: '2026-11-24T12:00:00.000Z', datacontenttype: 'application/json', data: { a: 1 } }, false);
    const event = deliveredEvent(asRecord(toKafkaRecord(original, 'k'), '42'), origin);
    expect(event).toMatchObject({ id: 'evt-1', source: '/gen', type: 'dev.bigdatapipeline.shop.event.v1', data: { a: 1 }, knativekafkapartition: '3', knativekafkaoffset: '42' });
    expect(event['partitionkey']).toBeUndefined();
  });

  it('gives a plain record a partition/offset id, the kafka.event type and key/header extensions', () => {
    const record = { key: Buffer.from('user-7'), value: Buffer.from('{"x":1}'), headers: { 'content-type': Buffer.from('Application/JSON'), 'X-Trace_Id': Buffer.from('t1') }, offset: '564', timestamp: '1795536000000' };
    const event = deliveredEvent(record, { ...origin, partition: 0 });
    expect(event).toMatchObject({
      id: 'partition:0/offset:564',
      source: '/apis/v1/namespaces/big-data-pipeline/kafkasources/enrich#data-stream',
      type: 'dev.knative.kafka.event',
      subject: 'partition:0#564',
      time: new Date(1795536000000).toISOString(),
      datacontenttype: 'application/json',
      key: 'user-7',
      partitionkey: 'user-7',
      kafkaheaderxtraceid: 't1',
      knativekafkapartition: '0',
      knativekafkaoffset: '564',
    });
  });

  it('POSTs a CloudEvent record as the SDK would send the delivered event, header for header', () => {
    const original = new CloudEvent(
      { id: 'evt-2', source: '/gen', type: 'dev.bigdatapipeline.shop.event.v1', time: '2026-11-24T12:00:00.000Z', subject: 's', datacontenttype: 'application/json', traceparent: '00-abc-def-01', data: { a: 1, b: 'ü' } },
      false,
    );
    const record = asRecord(toKafkaRecord(original, 'k'), '42');
    const message = deliveredMessage(record, origin);
    const viaSdk = HTTP.binary(deliveredEvent(record, origin) as CloudEvent<unknown>);
    expect(message.headers).toEqual(viaSdk.headers);
    expect(HTTP.toEvent({ headers: message.headers, body: String(message.body) })).toEqual(HTTP.toEvent(viaSdk));
  });

  it('POSTs a plain record, or one that is not a whole CloudEvent, as the SDK makes it', () => {
    const plain = { key: Buffer.from('user-7'), value: Buffer.from('{"x":1}'), headers: { 'content-type': Buffer.from('application/json') }, offset: '5', timestamp: '1795536000000' };
    const noType = { ...plain, headers: { ce_specversion: Buffer.from('1.0'), ce_id: Buffer.from('i'), ce_source: Buffer.from('/s') } };
    for (const record of [plain, noType]) {
      const message = deliveredMessage(record, origin);
      expect(message.headers['ce-type']).toBe('dev.knative.kafka.event');
      expect(message.headers).toEqual(HTTP.binary(deliveredEvent(record, origin) as CloudEvent<unknown>).headers);
    }
  });

  it('retries 5xx, 404, 408, 409, 429 and transport errors, nothing else', () => {
    for (const s of [500, 502, 503, 404, 408, 409, 429, undefined]) expect(isRetryable(s), String(s)).toBe(true);
    for (const s of [400, 401, 403, 406, 413, 415, 422]) expect(isRetryable(s), String(s)).toBe(false);
  });

  it('backs off linearly or exponentially from backoffDelay', () => {
    expect([1, 2, 3].map((n) => backoffMs('linear', 200, n))).toEqual([200, 400, 600]);
    expect([1, 2, 3, 10].map((n) => backoffMs('exponential', 200, n))).toEqual([400, 800, 1600, 204_800]);
  });

  it('dead-letters with the status, the destination and the first 1024 bytes of the answer', () => {
    const event = new CloudEvent({ id: 'x', source: '/s', type: 't', data: {} }, false);
    const letter = deadLetter(event, { status: 400, destination: 'http://enrich.big-data-pipeline.svc.cluster.local', body: 'y'.repeat(2000) });
    expect(letter).toMatchObject({ id: 'x', knativeerrorcode: '400', knativeerrordest: 'http://enrich.big-data-pipeline.svc.cluster.local' });
    expect(Buffer.from(String(letter['knativeerrordata']), 'base64').toString()).toBe('y'.repeat(1024));
    expect(deadLetter(event, { status: undefined, destination: 'd', body: 'timeout' })['knativeerrorcode']).toBeUndefined();
  });

  it('commits only below the lowest offset still in flight', () => {
    const offsets = new PartitionOffsets();
    expect(offsets.committable()).toBeUndefined();
    for (const o of [10, 11, 12, 13]) offsets.start(o);
    offsets.done(11);
    offsets.done(13);
    expect(offsets.committable()).toBe(10);
    offsets.committed(10);
    expect(offsets.committable()).toBeUndefined();
    offsets.done(10);
    expect(offsets.committable()).toBe(12);
    offsets.done(12);
    expect(offsets.committable()).toBe(14);
  });
});
