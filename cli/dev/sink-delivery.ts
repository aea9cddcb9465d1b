/**
 * One KafkaSource's deliveries to its sink, as the dispatcher makes them: a POST, the
 * retries of the source's `delivery` spec (its retry count and back-off, so these are the
 * manifest's numbers, not a retry library's), then the dead-letter sink with the reason
 * attached. A record counts as done once it is delivered or its dead letter is stored.
 */
import type { CloudEventV1 } from 'cloudevents';
import { setTimeout as sleep } from 'node:timers/promises';
import { toKafkaRecord, type EventProducer } from '../../shared/kafka.ts';
import type { KafkaSourceSpec } from '../manifests/index.ts';
import { type HttpMessage, backoffMs, deadLetter, isRetryable } from './delivery.ts';
import type { FunctionPool } from './pool.ts';

export interface DeliveryStats {
  delivered: number;
  deadLettered: number;
  retries: number;
  inFlight: number;
}

/** The last answer of a record that was not delivered: what its dead letter reports. */
interface Failure {
  status: number | undefined;
  body: Buffer | string;
}

export class SinkDelivery {
  readonly stats: DeliveryStats = { delivered: 0, deadLettered: 0, retries: 0, inFlight: 0 };
  #stopping = false;

  constructor(
    private readonly spec: Pick<KafkaSourceSpec, 'name' | 'sink' | 'delivery'>,
    private readonly sink: Pick<FunctionPool, 'post'>,
    private readonly deadLetters: { producer: EventProducer; topic: string } | undefined,
    private readonly namespace: string,
    private readonly onEvent: (message: string) => void,
    /** How it waits between attempts (tests pass a virtual clock). */
    private readonly wait: (ms: number) => Promise<unknown> = sleep,
  ) {}

  /** From now on nothing more is attempted: what is not done stays uncommitted for redelivery. */
  stop(): void {
    this.#stopping = true;
  }

  /** Delivers with retries; true when the record is done (delivered or dead-lettered). */
  async deliver(message: HttpMessage, event: () => CloudEventV1<unknown>): Promise<boolean> {
    this.stats.inFlight++;
    try {
      const failure = await this.#attempts(message);
      if (failure === undefined) {
        this.stats.delivered++;
        return true;
      }
      if (this.#stopping) return false;
      if (this.deadLetters && !(await this.#storeDeadLetter(this.deadLetters, event(), failure))) return false;
      this.stats.deadLettered++;
      return true;
    } finally {
      this.stats.inFlight--;
    }
  }

  /** The POST and its retries: undefined once delivered, else the last failure. */
  async #attempts({ headers, body }: HttpMessage): Promise<Failure | undefined> {
    const { delivery } = this.spec;
    let last: Failure = { status: undefined, body: '' };
    for (let attempt = 0; attempt <= delivery.retry; attempt++) {
      if (attempt > 0) {
        this.stats.retries++;
        await this.wait(backoffMs(delivery.backoffPolicy, delivery.backoffDelayMs, attempt));
      }
      if (this.#stopping) return last;
      try {
        const answer = await this.sink.post(headers, body, delivery.timeoutMs);
        if (answer.status >= 200 && answer.status < 300) return undefined;
        last = { status: answer.status, body: answer.body };
      } catch (error) {
        last = { status: undefined, body: (error as Error).message };
      }
      if (!isRetryable(last.status)) break;
    }
    return last;
  }

  /** Sends the dead letter until it is stored (the offset commits only then); false when stopped first. */
  async #storeDeadLetter(deadLetters: { producer: EventProducer; topic: string }, event: CloudEventV1<unknown>, failure: Failure): Promise<boolean> {
    const letter = deadLetter(event, { status: failure.status, destination: `http://${this.spec.sink}.${this.namespace}.svc.cluster.local`, body: failure.body });
    for (;;) {
      try {
        await deadLetters.producer.send(deadLetters.topic, toKafkaRecord(letter, null));
        return true;
      } catch (error) {
        if (this.#stopping) return false;
        this.onEvent(`${this.spec.name}: dead-letter sink unavailable (${(error as Error).message}); retrying`);
        await this.wait(1000);
      }
    }
  }
}
