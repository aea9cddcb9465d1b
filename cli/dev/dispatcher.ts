/**
 * The local KafkaSource dispatcher: a consumer group of N consumers (N set by the scaling
 * emulation) that POSTs each record as a binary CloudEvent to the sink, retries with the
 * manifest's back-off, dead-letters what cannot be delivered, and commits offsets only
 * after success or dead-lettering, every 5 s like the real dispatcher (so lag looks the
 * same to the scaler as on a cluster).
 */
import { HTTP, type CloudEvent, type CloudEventV1 } from 'cloudevents';
import type { Consumer, ConsumerConfig, ConsumerCrashEvent } from 'kafkajs';
import { setTimeout as sleep } from 'node:timers/promises';
import { toKafkaRecord, type EventProducer } from '../../shared/kafka.ts';
import type { KafkaSourceSpec } from '../manifests.ts';
import { PartitionOffsets, backoffMs, deadLetter, deliveredEvent, isRetryable } from './delivery.ts';
import type { FunctionPool } from './pool.ts';

/** max.poll.records of the Knative source data plane: the unordered in-flight cap per consumer. */
export const UNORDERED_IN_FLIGHT = 50;
export const COMMIT_INTERVAL_MS = 5000;

export interface DispatcherStats {
  delivered: number;
  deadLettered: number;
  retries: number;
  inFlight: number;
}

/** The part of a kafkajs consumer the dispatcher uses. */
export interface DispatcherConsumer extends Pick<Consumer, 'connect' | 'subscribe' | 'run' | 'pause' | 'stop' | 'disconnect' | 'commitOffsets'> {
  readonly events: Pick<Consumer['events'], 'CRASH'>;
  on(eventName: Consumer['events']['CRASH'], listener: (event: ConsumerCrashEvent) => void): unknown;
}

/** Makes the group's consumers: a kafkajs `Kafka` client (tests pass a double). */
export interface ConsumerFactory {
  consumer(config: ConsumerConfig): DispatcherConsumer;
}

interface GroupMember {
  consumer: DispatcherConsumer;
  offsets: Map<string, PartitionOffsets>;
  timer: NodeJS.Timeout | undefined;
  active: Set<Promise<void>>;
  draining: boolean;
}

export class Dispatcher {
  readonly stats: DispatcherStats = { delivered: 0, deadLettered: 0, retries: 0, inFlight: 0 };
  readonly #consumers: GroupMember[] = [];
  #stopping = false;
  /** The consumer count asked for last; `#changing` moves the group towards it. */
  #desired = 0;
  #changing: Promise<void> | undefined;

  constructor(
    private readonly spec: KafkaSourceSpec,
    private readonly kafka: ConsumerFactory,
    private readonly sink: Pick<FunctionPool, 'post'>,
    private readonly deadLetters: { producer: EventProducer; topic: string } | undefined,
    private readonly namespace: string,
    private readonly onEvent: (message: string) => void = () => undefined,
  ) {}

  get consumers(): number {
    return this.#consumers.length;
  }

  /**
   * Adds or removes consumers of the group, one at a time, until there are `count`; a call
   * made meanwhile only moves the target. Never rejects: a step that fails (Kafka down) is
   * logged and the group stays where it got to; the next call retries (the runtime calls
   * this every scaling tick, which also replaces a consumer that crashed for good).
   */
  setConsumers(count: number): Promise<void> {
    this.#desired = count;
    return (this.#changing ??= this.#converge());
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#changing;
    while (this.#consumers.length > 0) await this.#removeConsumer();
  }

  async #converge(): Promise<void> {
    // Yield first, so that `#changing` is set before the `finally` below clears it.
    await Promise.resolve();
    try {
      while (!this.#stopping && this.#consumers.length !== this.#desired) {
        if (this.#consumers.length < this.#desired) await this.#addConsumer();
        else await this.#removeConsumer();
      }
    } catch (error) {
      this.onEvent(`${this.spec.name}: scaling to ${this.#desired} consumers stopped at ${this.#consumers.length} (${(error as Error).message}); retrying on the next step`);
    } finally {
      this.#changing = undefined;
    }
  }

  async #addConsumer(): Promise<void> {
    const consumer = this.kafka.consumer({ groupId: this.spec.consumerGroup, sessionTimeout: 10_000, heartbeatInterval: 3000, maxWaitTimeInMs: 250 });
    const member: GroupMember = { consumer, offsets: new Map(), timer: undefined, active: new Set(), draining: false };
    const { offsets, active } = member;
    let crashed = false;
    // After a retriable crash kafkajs restarts the consumer; after any other it stays
    // disconnected: it leaves the group here and the next setConsumers replaces it.
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (payload.restart) {
        this.onEvent(`${this.spec.name}: consumer crashed (${payload.error.message}); kafkajs restarts it`);
        return;
      }
      crashed = true;
      clearInterval(member.timer);
      const index = this.#consumers.indexOf(member);
      if (index >= 0) this.#consumers.splice(index, 1);
      this.onEvent(`${this.spec.name}: consumer crashed for good (${payload.error.message}); the next scaling step replaces it`);
    });
    const slots = new Semaphore(this.spec.ordering === 'unordered' ? UNORDERED_IN_FLIGHT : Number.MAX_SAFE_INTEGER);
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: this.spec.topics, fromBeginning: this.spec.initialOffset === 'earliest' });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 16,
        eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
          const key = `${batch.topic}:${batch.partition}`;
          let tracker = offsets.get(key);
          if (!tracker) offsets.set(key, (tracker = new PartitionOffsets()));
          const deliveries: Promise<void>[] = [];
          const track = (work: Promise<void>) => {
            active.add(work);
            void work.finally(() => active.delete(work));
            return work;
          };
          for (const record of batch.messages) {
            if (!isRunning() || isStale() || this.#stopping || member.draining) break;
            const offset = Number(record.offset);
            const event = deliveredEvent(record, { namespace: this.namespace, source: this.spec.name, topic: batch.topic, partition: batch.partition });
            tracker.start(offset);
            const delivery = async () => {
              const ok = await this.#deliver(event);
              // Not delivered and not dead-lettered (stopping): leave it uncommitted for redelivery.
              if (ok) tracker.done(offset);
            };
            if (this.spec.ordering === 'ordered') {
              await track(delivery());
              if (this.#stopping) break;
              resolveOffset(record.offset);
            } else {
              await slots.acquire();
              deliveries.push(track(delivery().finally(() => slots.release())));
            }
            await heartbeat();
          }
          await Promise.all(deliveries);
          if (this.spec.ordering === 'unordered' && !this.#stopping && !member.draining && batch.messages.length > 0) {
            resolveOffset(batch.messages[batch.messages.length - 1]!.offset);
          }
        },
      });
      // kafkajs reports a failure to join the group as a crash, not as an error of run().
      if (crashed) throw new Error('consumer crashed while joining the group');
    } catch (error) {
      await consumer.disconnect().catch(() => undefined);
      throw error;
    }
    member.timer = setInterval(() => void this.#commit(consumer, offsets), COMMIT_INTERVAL_MS);
    this.#consumers.push(member);
  }

  /**
   * Scale-in: stop fetching, let the deliveries in flight finish, commit what is done, then
   * leave the group (its partitions move to the remaining consumers from that commit on).
   * Never throws, so stop() always gets to disconnect every consumer.
   */
  async #removeConsumer(): Promise<void> {
    const entry = this.#consumers.pop();
    if (!entry) return;
    clearInterval(entry.timer);
    entry.draining = true;
    try {
      entry.consumer.pause(this.spec.topics.map((topic) => ({ topic })));
    } catch {
      // Not running (kafkajs is restarting it after a crash): nothing to pause.
    }
    await Promise.allSettled([...entry.active]);
    await this.#commit(entry.consumer, entry.offsets);
    await entry.consumer.stop().catch(() => undefined);
    await entry.consumer.disconnect().catch(() => undefined);
  }

  async #commit(consumer: DispatcherConsumer, offsets: Map<string, PartitionOffsets>): Promise<void> {
    const commits: { topic: string; partition: number; offset: string; tracker: PartitionOffsets; value: number }[] = [];
    for (const [key, tracker] of offsets) {
      const value = tracker.committable();
      if (value === undefined) continue;
      const separator = key.lastIndexOf(':');
      commits.push({ topic: key.slice(0, separator), partition: Number(key.slice(separator + 1)), offset: String(value), tracker, value });
    }
    if (commits.length === 0) return;
    try {
      await consumer.commitOffsets(commits.map(({ topic, partition, offset }) => ({ topic, partition, offset })));
      for (const c of commits) c.tracker.committed(c.value);
    } catch (error) {
      // Lost the partition in a rebalance: its new owner starts from the last commit (at-least-once).
      this.onEvent(`${this.spec.name}: commit skipped in a rebalance (${(error as Error).message}); the new owner resumes from the last commit`);
    }
  }

  /** Delivers with retries; true when the record is done (delivered or dead-lettered). */
  async #deliver(event: CloudEventV1<unknown>): Promise<boolean> {
    const message = HTTP.binary(event as CloudEvent<unknown>);
    const headers = message.headers as Record<string, string>;
    const body = (message.body as string | undefined) ?? '';
    const { delivery } = this.spec;
    let last: { status: number | undefined; body: Buffer | string } = { status: undefined, body: '' };
    this.stats.inFlight++;
    try {
      for (let attempt = 0; attempt <= delivery.retry; attempt++) {
        if (attempt > 0) {
          this.stats.retries++;
          await sleep(backoffMs(delivery.backoffPolicy, delivery.backoffDelayMs, attempt));
        }
        if (this.#stopping) return false;
        try {
          const answer = await this.sink.post(headers, body, delivery.timeoutMs);
          if (answer.status >= 200 && answer.status < 300) {
            this.stats.delivered++;
            return true;
          }
          last = { status: answer.status, body: answer.body };
        } catch (error) {
          last = { status: undefined, body: (error as Error).message };
        }
        if (!isRetryable(last.status)) break;
      }
      if (this.#stopping) return false;
      if (this.deadLetters) {
        const letter = deadLetter(event, { status: last.status, destination: `http://${this.spec.sink}.${this.namespace}.svc.cluster.local`, body: last.body });
        // The offset is committed only once the dead letter is stored.
        for (;;) {
          try {
            await this.deadLetters.producer.send(this.deadLetters.topic, toKafkaRecord(letter, null));
            break;
          } catch (error) {
            if (this.#stopping) return false;
            this.onEvent(`${this.spec.name}: dead-letter sink unavailable (${(error as Error).message}); retrying`);
            await sleep(1000);
          }
        }
      }
      this.stats.deadLettered++;
      return true;
    } finally {
      this.stats.inFlight--;
    }
  }
}

class Semaphore {
  #available: number;
  #waiting: (() => void)[] = [];
  constructor(size: number) {
    this.#available = size;
  }
  async acquire(): Promise<void> {
    if (this.#available > 0) {
      this.#available--;
      return;
    }
    await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }
  release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#available++;
  }
}
