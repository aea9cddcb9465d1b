/**
 * KafkaSource delivery semantics, pure parts: how a Kafka
 * record becomes the CloudEvent POSTed to the sink, which answers are retried, the back-off,
 * the dead-letter event, and which offset may be committed.
 */
import { CloudEvent, HTTP, type CloudEventV1 } from 'cloudevents';
import type { KafkaMessage } from 'kafkajs';
import { CeType } from '../../shared/ce-types.ts';
import { fromKafkaRecord } from '../../shared/kafka.ts';

export interface RecordOrigin {
  namespace: string;
  source: string;
  topic: string;
  partition: number;
}

/**
 * A record written as a CloudEvent (ce_* headers) passes through with its own id; any other
 * record becomes a `dev.knative.kafka.event` with a `partition:P/offset:O` id. Both get the
 * knativekafkapartition / knativekafkaoffset extensions.
 */
export function deliveredEvent(record: Pick<KafkaMessage, 'key' | 'value' | 'headers' | 'offset' | 'timestamp'>, origin: RecordOrigin): CloudEventV1<unknown> {
  const kafkaMetadata = { knativekafkapartition: String(origin.partition), knativekafkaoffset: record.offset };
  if (isBinaryCloudEvent(record.headers)) {
    try {
      const { partitionkey: _key, ...event } = fromKafkaRecord(record) as CloudEventV1<unknown> & { partitionkey?: unknown };
      return new CloudEvent({ ...event, ...kafkaMetadata }, false);
    } catch {
      // Not a valid CloudEvent after all: deliver it as a plain record, as the dispatcher does.
    }
  }
  const contentType = headerString(record.headers?.['content-type'])?.toLowerCase();
  const extensions: Record<string, string> = {};
  const key = record.key?.toString('utf8');
  if (key !== undefined) {
    extensions['key'] = key;
    extensions['partitionkey'] = key;
  }
  for (const [name, value] of Object.entries(record.headers ?? {})) {
    if (name === 'content-type') continue;
    const ext = `kafkaheader${name.toLowerCase().replace(/[^a-z0-9]/g, '')}`;
    const text = headerString(value);
    if (text !== undefined) extensions[ext] = text;
  }
  return new CloudEvent(
    {
      id: `partition:${origin.partition}/offset:${record.offset}`,
      source: `/apis/v1/namespaces/${origin.namespace}/kafkasources/${origin.source}#${origin.topic}`,
      type: CeType.kafkaRecord,
      subject: `partition:${origin.partition}#${record.offset}`,
      time: new Date(Number(record.timestamp)).toISOString(),
      ...(contentType ? { datacontenttype: contentType } : {}),
      data: record.value ?? undefined,
      ...extensions,
      ...kafkaMetadata,
    },
    false,
  );
}

/** An HTTP request in binary content mode: what the dispatcher POSTs to the sink. */
export interface HttpMessage {
  headers: Record<string, string>;
  body: Buffer | string;
}

/**
 * The request that delivers a record: the HTTP form of deliveredEvent(). A record that is a
 * binary-mode CloudEvent maps header for header — the Kafka and HTTP bindings carry the same
 * attributes, `ce_<name>` there and `ce-<name>` here, the content type as `content-type`,
 * the data as the body, unchanged — plus the Kafka extensions. Going through the SDK
 * (parse the record, build the event twice, serialise it) gives the same request for ten
 * times the CPU, on the local runtime's hottest path; it still builds every other record.
 */
export function deliveredMessage(record: Pick<KafkaMessage, 'key' | 'value' | 'headers' | 'offset' | 'timestamp'>, origin: RecordOrigin): HttpMessage {
  if (isBinaryCloudEvent(record.headers)) {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(record.headers)) {
      const text = headerString(value);
      if (text === undefined) continue;
      // datacontenttype travels as content-type in both bindings; the key is not an attribute.
      if (name === 'content-type' || name === 'ce_datacontenttype') headers['content-type'] ??= text;
      else if (name.startsWith('ce_') && name !== 'ce_partitionkey') headers[`ce-${name.slice(3)}`] = text;
    }
    headers['ce-knativekafkapartition'] = String(origin.partition);
    headers['ce-knativekafkaoffset'] = record.offset;
    return { headers, body: record.value ?? '' };
  }
  const message = HTTP.binary(deliveredEvent(record, origin) as CloudEvent<unknown>);
  return { headers: message.headers as Record<string, string>, body: (message.body as string | Buffer | undefined) ?? '' };
}

type RecordHeaders = KafkaMessage['headers'];

/** A binary-mode CloudEvent record: spec version 1.0 and every required attribute as a ce_ header. */
function isBinaryCloudEvent(headers: RecordHeaders): headers is NonNullable<RecordHeaders> {
  const attribute = (name: string) => headerString(headers?.[`ce_${name}`]);
  return attribute('specversion') === '1.0' && !!attribute('id') && !!attribute('source') && !!attribute('type');
}

function headerString(value: Buffer | string | (Buffer | string)[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.map(String).join(',') : value.toString();
}

/** Answers the dispatcher retries (WebClientCloudEventSender.isRetryableStatusCode). A transport error or timeout is `undefined`. */
export function isRetryable(status: number | undefined): boolean {
  return status === undefined || status >= 500 || status === 404 || status === 408 || status === 409 || status === 429;
}

/** Delay before retry n (1-based): backoffDelay × n (linear) or × 2^n (exponential). */
export function backoffMs(policy: 'linear' | 'exponential', delayMs: number, attempt: number): number {
  return policy === 'linear' ? delayMs * attempt : delayMs * 2 ** attempt;
}

/** The event as sent to the dead-letter sink, with the reason in knativeerror* extensions. */
export function deadLetter(event: CloudEventV1<unknown>, failure: { status?: number | undefined; destination: string; body: Buffer | string }): CloudEventV1<unknown> {
  const data = Buffer.from(failure.body).subarray(0, 1024).toString('base64');
  return new CloudEvent(
    {
      ...event,
      knativeerrordest: failure.destination,
      knativeerrordata: data,
      ...(failure.status !== undefined ? { knativeerrorcode: String(failure.status) } : {}),
    },
    false,
  );
}

/**
 * Offsets of one partition in flight. The committable offset is the lowest one not yet
 * done (everything below it succeeded or went to the dead-letter sink).
 */
export class PartitionOffsets {
  readonly #pending = new Set<number>();
  #highestStarted = -1;
  #committed = -1;

  start(offset: number): void {
    this.#pending.add(offset);
    if (offset > this.#highestStarted) this.#highestStarted = offset;
  }

  done(offset: number): void {
    this.#pending.delete(offset);
  }

  /** Next offset to read after everything finished so far; undefined when nothing new is done. */
  committable(): number | undefined {
    let low = this.#highestStarted + 1;
    for (const o of this.#pending) if (o < low) low = o;
    return low > this.#committed && low > 0 ? low : undefined;
  }

  committed(offset: number): void {
    this.#committed = Math.max(this.#committed, offset);
  }
}
