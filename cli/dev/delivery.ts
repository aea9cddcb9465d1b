/**
 * KafkaSource delivery semantics, pure parts: how a Kafka
 * record becomes the CloudEvent POSTed to the sink, which answers are retried, the back-off,
 * the dead-letter event, and which offset may be committed.
 */
import { CloudEvent, type CloudEventV1 } from 'cloudevents';
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
  if (record.headers?.['ce_id'] !== undefined) {
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
