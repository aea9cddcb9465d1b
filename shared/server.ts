/**
 * The CloudEvents shell every function runs in: a Fastify app that accepts binary and
 * structured CloudEvents 1.0 on `POST /`, validates attributes and `data`, routes by type,
 * and maps every failure to an answer a Knative dispatcher acts on correctly:
 * 400 (dead-letter, no retry), 413, 415, 503 (retry with back-off). Health probes, metrics
 * and the graceful close come from the base it stands on (http-app.ts). `listen` lives in
 * shared/main.ts.
 */
import { CloudEvent, HTTP, ValidationError, type CloudEventV1 } from 'cloudevents';
// The Elasticsearch client's error classes, from the small module that defines them: the
// whole client (HTTP stack, Arrow, OpenTelemetry) would otherwise ride along in the bundle of
// every function, also those that never talk to Elasticsearch.
import * as esErrors from '@elastic/transport/errors';
import type { FastifyError, FastifyInstance } from 'fastify';
// kafkajs spreads its error classes into module.exports, which Node's ESM loader cannot see
// as named exports: take them from the default export.
import kafkajs from 'kafkajs';
import type { Static, TSchema } from '@sinclair/typebox';
import { ErrorCode, PipelineError, badEvent, downstreamUnavailable } from './errors.ts';
import { createHttpApp, type HttpAppOptions } from './http-app.ts';
import type { Metrics } from './metrics.ts';
import { toIssues, validator, type Validator } from './validation.ts';

const { KafkaJSError } = kafkajs;

export interface HandlerContext {
  log: FastifyInstance['log'];
  /** Set once the server is closing (SIGTERM): long handlers should wind down. */
  signal: AbortSignal;
}

export interface EventRoute<S extends TSchema = TSchema> {
  /** CloudEvent types this route answers. */
  types: readonly string[];
  /** JSON Schema of `data`. */
  schema: S;
  handle(data: Static<S>, event: CloudEventV1<unknown>, ctx: HandlerContext): Promise<unknown>;
}

/** Keeps the schema and handler of one route in step (TS infers S from the schema). */
export function route<S extends TSchema>(r: EventRoute<S>): EventRoute<S> {
  return r;
}

export interface ShellOptions extends Omit<HttpAppOptions, 'registry'> {
  routes: EventRoute<TSchema>[];
  metrics: Metrics;
}

/** The shell options a function takes from its common configuration. */
export function shellOptionsOf(name: string, config: { BODY_LIMIT_BYTES: number; LOG_LEVEL: string }, metrics: Metrics) {
  return { name, metrics, bodyLimit: config.BODY_LIMIT_BYTES, logLevel: config.LOG_LEVEL };
}

const REQUIRED_ATTRIBUTES = ['specversion', 'id', 'source', 'type'] as const;
const isTime = validator({ type: 'string', format: 'date-time' } as unknown as TSchema);

export function createCloudEventServer(options: ShellOptions): FastifyInstance {
  const { metrics } = options;
  const { app, closing } = createHttpApp({ ...options, registry: metrics.registry });

  const byType = new Map<string, { route: EventRoute<TSchema>; check: Validator<unknown> }>();
  for (const r of options.routes) {
    const check = validator(r.schema);
    for (const type of r.types) byType.set(type, { route: r, check });
  }
  const acceptedTypes = [...byType.keys()];

  // Structured events are parsed by the SDK from the raw string; every other content type
  // (binary events may carry any, or none) arrives as a string too.
  app.addContentTypeParser(['application/cloudevents+json', 'application/cloudevents-batch+json'], { parseAs: 'string' }, (_req, body, done) =>
    done(null, body),
  );
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));

  app.setErrorHandler((error: FastifyError | PipelineError, request, reply) => {
    const answer = toAnswer(error);
    if (answer.status >= 500 && answer.status !== 503) request.log.error({ err: error }, 'handler failed');
    else if (answer.status === 503) request.log.warn({ err: error.message }, 'downstream unavailable');
    reply.code(answer.status).send(answer.body);
  });

  app.post('/', async (request, reply) => {
    const started = performance.now();
    let type = 'unknown';
    try {
      const event = parseCloudEvent(request.headers, request.body);
      type = event.type;
      const target = byType.get(event.type);
      if (!target) {
        throw badEvent(ErrorCode.unknownType, `no handler for CloudEvent type "${event.type}"`, { type: event.type, accepted: acceptedTypes });
      }
      const data = dataOf(event);
      if (!target.check(data)) {
        throw badEvent(ErrorCode.invalidData, `data does not match the schema of ${event.type}`, target.check.issues(data));
      }
      const result = await target.route.handle(data, event, { log: request.log, signal: closing });
      metrics.eventsIn.inc({ type, outcome: 'ok' });
      metrics.handlerDuration.observe({ type, status: '200' }, (performance.now() - started) / 1000);
      return reply.code(200).send(result ?? { ok: true });
    } catch (error) {
      const status = toAnswer(error as Error).status;
      metrics.eventsIn.inc({ type, outcome: status === 400 ? 'bad_request' : status === 503 ? 'unavailable' : status < 500 ? 'rejected' : 'error' });
      metrics.handlerDuration.observe({ type, status: String(status) }, (performance.now() - started) / 1000);
      throw error;
    }
  });
  return app;
}

/** Turns an incoming HTTP request into a validated CloudEvent 1.0, or throws a 400/415. */
export function parseCloudEvent(rawHeaders: Record<string, string | string[] | undefined>, body: unknown): CloudEventV1<unknown> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(rawHeaders)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  }
  const contentType = (headers['content-type'] ?? '').toLowerCase().replace(/\s+/g, '');
  if (contentType.startsWith('application/cloudevents-batch')) {
    throw new PipelineError(ErrorCode.unsupportedMode, 415, 'batched CloudEvents are not accepted: send one event per request');
  }
  const structured = contentType.startsWith('application/cloudevents');
  let timeGiven: boolean;
  if (structured) {
    if (!contentType.startsWith('application/cloudevents+json')) {
      throw new PipelineError(ErrorCode.unsupportedMode, 415, `unsupported structured format "${headers['content-type']}": use application/cloudevents+json`);
    }
    // The SDK only recognises exactly this spelling.
    headers['content-type'] = 'application/cloudevents+json; charset=utf-8';
    timeGiven = checkStructuredAttributes(body);
  } else {
    if (!('ce-id' in headers) && !('ce-type' in headers) && !('ce-specversion' in headers)) {
      throw badEvent(ErrorCode.notACloudEvent, 'not a CloudEvent: send ce-* headers (binary mode) or Content-Type application/cloudevents+json (structured mode)');
    }
    const missing = REQUIRED_ATTRIBUTES.filter((a) => !headers[`ce-${a}`]);
    if (missing.length > 0) throw invalidEvent(`missing required attribute(s): ${missing.join(', ')}`, missing.map((a) => ({ path: `ce-${a}`, message: 'is required' })));
    if (headers['ce-time'] !== undefined && !isTime(headers['ce-time'])) {
      throw invalidEvent('attribute time is not an RFC 3339 timestamp', [{ path: 'ce-time', message: 'must be RFC 3339' }]);
    }
    timeGiven = headers['ce-time'] !== undefined;
  }

  let event: CloudEventV1<unknown>;
  const stackTraceLimit = Error.stackTraceLimit;
  try {
    // The SDK's JSON parser constructs two ValidationErrors on every call, used or not;
    // capturing their stacks was the costliest step of a request. Its errors are the
    // client's, answered with their message, so they need no stack.
    Error.stackTraceLimit = 0;
    const parsed = HTTP.toEvent({ headers, body });
    if (Array.isArray(parsed)) throw new PipelineError(ErrorCode.unsupportedMode, 415, 'batched CloudEvents are not accepted');
    event = parsed as CloudEventV1<unknown>;
  } catch (error) {
    if (error instanceof PipelineError) throw error;
    throw invalidEvent(`not a valid CloudEvent: ${(error as Error).message}`, sdkIssues(error));
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
  if (event.specversion !== '1.0') {
    throw invalidEvent(`unsupported specversion "${String(event.specversion)}": only 1.0 is accepted`, [{ path: 'specversion', message: 'must be 1.0' }]);
  }
  try {
    (event as CloudEvent<unknown>).validate();
  } catch (error) {
    throw invalidEvent(`not a valid CloudEvent: ${(error as Error).message}`, sdkIssues(error));
  }
  // The SDK fills a missing `time` with "now"; handlers must see that the sender gave none.
  return timeGiven ? event : { ...event, time: undefined };
}

/** Checks what the SDK would silently fill in; returns whether the envelope has a time. */
function checkStructuredAttributes(body: unknown): boolean {
  let envelope: unknown = body;
  if (typeof body === 'string') {
    try {
      envelope = JSON.parse(body);
    } catch (error) {
      throw invalidEvent(`structured CloudEvent is not valid JSON: ${(error as Error).message}`);
    }
  }
  if (typeof envelope !== 'object' || envelope === null || Array.isArray(envelope)) {
    throw invalidEvent('structured CloudEvent must be a JSON object');
  }
  const record = envelope as Record<string, unknown>;
  const missing = REQUIRED_ATTRIBUTES.filter((a) => typeof record[a] !== 'string' || record[a] === '');
  if (missing.length > 0) throw invalidEvent(`missing required attribute(s): ${missing.join(', ')}`, missing.map((a) => ({ path: a, message: 'is required' })));
  if (record['time'] !== undefined && !isTime(record['time'])) {
    throw invalidEvent('attribute time is not an RFC 3339 timestamp', [{ path: 'time', message: 'must be RFC 3339' }]);
  }
  return record['time'] !== undefined;
}

/** `data` as JSON: binary events without a JSON content type arrive as a string. */
function dataOf(event: CloudEventV1<unknown>): unknown {
  const data = event.data;
  if (data instanceof Uint8Array || data instanceof Uint32Array) throw badEvent(ErrorCode.invalidData, 'data must be JSON, not binary');
  if (typeof data !== 'string') return data;
  const contentType = event.datacontenttype?.toLowerCase();
  if (contentType !== undefined && !contentType.includes('json')) {
    throw badEvent(ErrorCode.invalidData, `data must be JSON, got content type "${event.datacontenttype}"`);
  }
  if (data === '') return undefined;
  try {
    return JSON.parse(data);
  } catch (error) {
    throw badEvent(ErrorCode.invalidData, `data is not valid JSON: ${(error as Error).message}`);
  }
}

function invalidEvent(message: string, details?: unknown): PipelineError {
  return badEvent(ErrorCode.invalidCloudEvent, message, details);
}

function sdkIssues(error: unknown): unknown {
  if (error instanceof ValidationError && Array.isArray(error.errors)) {
    return error.errors.map((e) => (typeof e === 'string' ? { path: '/', message: e } : toIssues([e as never])[0]));
  }
  return undefined;
}

interface Answer {
  status: number;
  body: { error: string; code: string; details?: unknown };
}

/** Maps any error to the status a dispatcher acts on. Never 404/409/429 for a bad event: those are retried. */
export function toAnswer(error: Error & { statusCode?: number; code?: string }): Answer {
  if (error instanceof PipelineError) {
    return { status: error.statusCode, body: { error: error.message, code: error.code, ...(error.details === undefined ? {} : { details: error.details }) } };
  }
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return { status: 413, body: { error: error.message, code: ErrorCode.bodyTooLarge } };
  }
  if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return { status: 415, body: { error: error.message, code: ErrorCode.unsupportedMode } };
  }
  if (error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
    return { status: 400, body: { error: `data is not valid JSON: ${error.message}`, code: ErrorCode.invalidData } };
  }
  // A client library's error is the store's trouble, never the event's, whatever status it
  // carries (an Elasticsearch 404 or 403 is a missing index or a write block): retry it.
  if (error instanceof esErrors.ElasticsearchClientError || error instanceof KafkaJSError) {
    return toAnswer(downstreamUnavailable(error instanceof KafkaJSError ? 'Kafka unavailable' : 'Elasticsearch unavailable', error));
  }
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    return { status: 400, body: { error: error.message, code: ErrorCode.invalidCloudEvent, details: { cause: error.code } } };
  }
  return { status: 500, body: { error: 'internal error', code: ErrorCode.internal } };
}
