import { errors as esErrors } from '@elastic/elasticsearch';
import { Type } from '@sinclair/typebox';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
// kafkajs spreads its error classes into module.exports, which Node's ESM loader cannot see
// as named exports: take them from the default export.
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downstreamUnavailable } from './errors.ts';
import { createMetrics } from './metrics.ts';
import { createCloudEventServer, route } from './server.ts';

const { KafkaJSError } = kafkajs;

const TYPE = 'dev.bigdatapipeline.test.v1';
const seen: unknown[] = [];
let failNext: Error | undefined;

function app(): FastifyInstance {
  return createCloudEventServer({
    name: 'shell-test',
    metrics: createMetrics({ function: 'shell-test' }),
    bodyLimit: 1024,
    logLevel: 'silent',
    routes: [
      route({
        types: [TYPE],
        schema: Type.Object({ n: Type.Integer({ minimum: 0 }) }, { additionalProperties: false }),
        async handle(data, event) {
          if (failNext) {
            const error = failNext;
            failNext = undefined;
            throw error;
          }
          seen.push({ data, id: event.id, time: event.time });
          return { got: data.n };
        },
      }),
    ],
  });
}

const binaryHeaders = {
  'ce-id': 'abc-1',
  'ce-source': '/test',
  'ce-type': TYPE,
  'ce-specversion': '1.0',
  'content-type': 'application/json',
};

describe('CloudEvents shell', () => {
  let server: FastifyInstance;
  beforeAll(async () => {
    server = app();
    await server.ready();
  });
  afterAll(() => server.close());

  it('accepts a binary CloudEvent and passes data, id and time to the handler', async () => {
    const res = await server.inject({
      method: 'POST',
      url: '/',
      headers: { ...binaryHeaders, 'ce-time': '2026-01-02T03:04:05.678Z' },
      payload: { n: 1 },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ got: 1 });
    expect(seen.at(-1)).toEqual({ data: { n: 1 }, id: 'abc-1', time: '2026-01-02T03:04:05.678Z' });
  });

  it.each(['application/cloudevents+json', 'application/cloudevents+json; charset=utf-8', 'Application/CloudEvents+JSON;charset=UTF-8'])(
    'accepts a structured CloudEvent with content type %s',
    async (contentType) => {
      const res = await server.inject({
        method: 'POST',
        url: '/',
        headers: { 'content-type': contentType },
        payload: JSON.stringify({ specversion: '1.0', id: 's-1', source: '/test', type: TYPE, data: { n: 2 } }),
      });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ got: 2 });
    },
  );

  it('tells the handler when the sender gave no time (the SDK would invent "now")', async () => {
    const res = await server.inject({ method: 'POST', url: '/', headers: binaryHeaders, payload: { n: 3 } });
    expect(res.statusCode).toBe(200);
    expect(seen.at(-1)).toMatchObject({ time: undefined });
  });

  it('parses JSON data of a binary event sent without a content type', async () => {
    const { 'content-type': _, ...headers } = binaryHeaders;
    const res = await server.inject({ method: 'POST', url: '/', headers, payload: '{"n":4}' });
    expect(res.statusCode).toBe(200);
  });

  const bad: [string, Record<string, string>, string, string][] = [
    ['not a CloudEvent', { 'content-type': 'application/json' }, '{"n":1}', 'BDP_ERR_NOT_A_CLOUDEVENT'],
    ['missing ce-source', { ...binaryHeaders, 'ce-source': '' }, '{"n":1}', 'BDP_ERR_INVALID_CLOUDEVENT'],
    ['missing ce-specversion', omit(binaryHeaders, 'ce-specversion'), '{"n":1}', 'BDP_ERR_INVALID_CLOUDEVENT'],
    ['wrong specversion', { ...binaryHeaders, 'ce-specversion': '0.3' }, '{"n":1}', 'BDP_ERR_INVALID_CLOUDEVENT'],
    ['bad time', { ...binaryHeaders, 'ce-time': 'yesterday' }, '{"n":1}', 'BDP_ERR_INVALID_CLOUDEVENT'],
    ['unknown type', { ...binaryHeaders, 'ce-type': 'com.example.other' }, '{"n":1}', 'BDP_ERR_UNKNOWN_TYPE'],
    ['schema-invalid data', binaryHeaders, '{"n":-1}', 'BDP_ERR_INVALID_DATA'],
    ['extra property', binaryHeaders, '{"n":1,"x":2}', 'BDP_ERR_INVALID_DATA'],
    ['malformed JSON', binaryHeaders, '{"n":', 'BDP_ERR_INVALID_DATA'],
    ['non-JSON data', { ...binaryHeaders, 'content-type': 'text/plain' }, 'hello', 'BDP_ERR_INVALID_DATA'],
    ['structured without id', { 'content-type': 'application/cloudevents+json' }, JSON.stringify({ specversion: '1.0', source: '/t', type: TYPE, data: { n: 1 } }), 'BDP_ERR_INVALID_CLOUDEVENT'],
    ['structured not JSON', { 'content-type': 'application/cloudevents+json' }, 'nope', 'BDP_ERR_INVALID_CLOUDEVENT'],
    ['structured array', { 'content-type': 'application/cloudevents+json' }, '[1]', 'BDP_ERR_INVALID_CLOUDEVENT'],
  ];
  it.each(bad)('answers 400 with a JSON reason for %s', async (_name, headers, payload, code) => {
    const res = await server.inject({ method: 'POST', url: '/', headers, payload });
    expect(res.statusCode).toBe(400);
    const body = res.json();
    expect(body.code).toBe(code);
    expect(typeof body.error).toBe('string');
  });

  it('lists the failing fields of schema-invalid data', async () => {
    const res = await server.inject({ method: 'POST', url: '/', headers: binaryHeaders, payload: '{}' });
    expect(res.json().details).toEqual([{ path: '/n', message: 'is required' }]);
  });

  it('answers 413 for an oversize body', async () => {
    const res = await server.inject({ method: 'POST', url: '/', headers: binaryHeaders, payload: JSON.stringify({ n: 1, pad: 'x'.repeat(2000) }) });
    expect(res.statusCode).toBe(413);
    expect(res.json().code).toBe('BDP_ERR_BODY_TOO_LARGE');
  });

  it('answers 415 for batched mode and unknown structured formats', async () => {
    for (const contentType of ['application/cloudevents-batch+json', 'application/cloudevents+xml']) {
      const res = await server.inject({ method: 'POST', url: '/', headers: { 'content-type': contentType }, payload: '[]' });
      expect(res.statusCode).toBe(415);
    }
  });

  it('answers 503 for downstream trouble and stays healthy', async () => {
    failNext = downstreamUnavailable('Kafka is down');
    const res = await server.inject({ method: 'POST', url: '/', headers: binaryHeaders, payload: { n: 1 } });
    expect(res.statusCode).toBe(503);
    expect((await server.inject({ url: '/health/liveness' })).statusCode).toBe(200);
    expect((await server.inject({ url: '/health/readiness' })).statusCode).toBe(200);
  });

  it('answers 503, never 400, for any error of the Kafka or Elasticsearch client', async () => {
    const missingIndex = new esErrors.ResponseError({ body: { error: { type: 'index_not_found_exception' } }, statusCode: 404, headers: {}, warnings: null, meta: {} as never });
    const writeBlock = new esErrors.ResponseError({ body: { error: { type: 'cluster_block_exception' } }, statusCode: 403, headers: {}, warnings: null, meta: {} as never });
    for (const error of [missingIndex, writeBlock, new KafkaJSError('This server does not host this topic-partition')]) {
      failNext = error;
      const res = await server.inject({ method: 'POST', url: '/', headers: binaryHeaders, payload: { n: 1 } });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ code: 'BDP_ERR_DOWNSTREAM_UNAVAILABLE' });
    }
  });

  it('answers 500 without details for an unexpected handler error', async () => {
    failNext = new Error('boom');
    const res = await server.inject({ method: 'POST', url: '/', headers: binaryHeaders, payload: { n: 1 } });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({ error: 'internal error', code: 'BDP_ERR_INTERNAL' });
  });

  it('serves Prometheus metrics labelled with the function', async () => {
    const res = await server.inject({ url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toMatch(/pipeline_events_in_total\{type="dev.bigdatapipeline.test.v1",outcome="ok",function="shell-test"/);
    expect(res.body).toMatch(/pipeline_events_in_total\{type="dev.bigdatapipeline.test.v1",outcome="bad_request"/);
  });

  it('reports not ready once closing', async () => {
    const other = app();
    await other.ready();
    const closing = other.close();
    const res = await other.inject({ url: '/health/readiness' });
    await closing;
    expect(res.statusCode).toBe(503);
  });

  it('never crashes and never answers 5xx for random headers and bodies', async () => {
    const headerName = fc.constantFrom('ce-id', 'ce-source', 'ce-type', 'ce-specversion', 'ce-time', 'ce-subject', 'ce-LUNCH', 'content-type', 'ce-', 'x-other');
    const headerValue = fc.oneof(
      fc.string({ maxLength: 40 }).map((s) => s.replace(/[^\x20-\x7e]/g, '')),
      fc.constantFrom('1.0', TYPE, '/test', 'application/json', 'application/cloudevents+json', 'application/cloudevents-batch+json', 'text/plain', '2026-01-01T00:00:00Z'),
    );
    const body = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.json({ maxDepth: 3 }),
      fc.constant('x'.repeat(1500)),
      fc.record({ specversion: fc.constantFrom('1.0', '0.3', 1), id: fc.string(), source: fc.string(), type: fc.constantFrom(TYPE, 'x'), data: fc.anything() }).map((o) => JSON.stringify(o)),
    );
    await fc.assert(
      fc.asyncProperty(fc.dictionary(headerName, headerValue, { maxKeys: 8 }), body, async (headers, payload) => {
        const res = await server.inject({ method: 'POST', url: '/', headers, payload });
        expect(res.statusCode, `${res.statusCode} ${res.body}`).toBeLessThan(500);
        expect([200, 400, 413, 415]).toContain(res.statusCode);
        if (res.statusCode !== 200) expect(typeof res.json().error).toBe('string');
      }),
      { numRuns: 400 },
    );
  });
});

function omit<T extends Record<string, string>>(o: T, key: keyof T): Record<string, string> {
  const copy: Record<string, string> = { ...o };
  delete copy[key as string];
  return copy;
}
