/**
 * The local KafkaSource dispatcher of one source: one Kafka consumer per dispatcher pod the
 * source is placed on (eventing-kafka-broker makes one Consumer per placement and its
 * dispatcher runs one consumer verticle per Consumer), all in the source's consumer group.
 * Each POSTs records as binary CloudEvents to the sink, retries with the manifest's
 * back-off, dead-letters what cannot be delivered (sink-delivery.ts), and commits offsets
 * only after success or dead-lettering, every `auto.commit.interval.ms`, like the real dispatcher — so lag looks
 * the same to the scaler as on a cluster.
 *
 * In flight per consumer, as the data plane does it:
 *   unordered  UnorderedConsumerVerticle.poll(): a new poll only while fewer than
 *              `max.poll.records` records are in flight, and a poll returns up to that many —
 *              so between max.poll.records and twice that are in flight under a backlog;
 *   ordered    OrderedConsumerVerticle: one record at a time per assigned partition.
 */
import type { Consumer, ConsumerConfig, ConsumerCrashEvent } from 'kafkajs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EventProducer } from '../../shared/kafka.ts';
import type { KafkaSourceSpec } from '../manifests/index.ts';
import { DISPATCHER_DEFAULTS } from '../scaling/defaults.ts';
import { PartitionOffsets, deliveredEvent, deliveredMessage } from './delivery.ts';
import type { FunctionPool } from './pool.ts';
import { type DeliveryStats, SinkDelivery } from './sink-delivery.ts';

/** The Kafka consumer's own heartbeats run on a background thread; kafkajs needs them sent while a batch waits. */
const HEARTBEAT_EVERY_MS = 3000;

/** The part of a kafkajs consumer the dispatcher uses. */
export interface DispatcherConsumer extends Pick<Consumer, 'connect' | 'subscribe' | 'run' | 'pause' | 'stop' | 'disconnect' | 'commitOffsets'> {
  readonly events: Pick<Consumer['events'], 'CRASH'>;
  on(eventName: Consumer['events']['CRASH'], listener: (event: ConsumerCrashEvent) => void): unknown;
}

/** Makes the group's consumers: a kafkajs `Kafka` client (tests pass a double). */
export interface ConsumerFactory {
  consumer(config: ConsumerConfig): DispatcherConsumer;
}

export interface DispatcherOptions {
  /** max.poll.records of config-kafka-source-data-plane. */
  maxPollRecords?: number;
  commitIntervalMs?: number;
}

/** One Kafka consumer: the source's Consumer on one dispatcher pod. */
interface Member {
  pod: string;
  consumer: DispatcherConsumer;
  offsets: Map<string, PartitionOffsets>;
  timer: NodeJS.Timeout | undefined;
  active: Set<Promise<void>>;
  inFlight: number;
  /** Wakes a poll waiting for in-flight records to drop below max.poll.records. */
  wake: (() => void) | undefined;
  /** Polls of one consumer run one after another, as on the verticle's event loop. */
  polling: Promise<void>;
  draining: boolean;
}

export class Dispatcher {
  readonly #delivery: SinkDelivery;
  readonly #members = new Map<string, Member>();
  readonly #maxPollRecords: number;
  readonly #commitIntervalMs: number;
  #stopping = false;
  /** The pods asked for last; `#changing` moves the group towards them. */
  #desired: string[] = [];
  #changing: Promise<void> | undefined;

  constructor(
    private readonly spec: KafkaSourceSpec,
    private readonly kafka: ConsumerFactory,
    sink: Pick<FunctionPool, 'post'>,
    deadLetters: { producer: EventProducer; topic: string } | undefined,
    private readonly namespace: string,
    private readonly onEvent: (message: string) => void = () => undefined,
    options: DispatcherOptions = {},
  ) {
    this.#delivery = new SinkDelivery(spec, sink, deadLetters, namespace, onEvent);
    this.#maxPollRecords = options.maxPollRecords ?? DISPATCHER_DEFAULTS.maxPollRecords;
    this.#commitIntervalMs = options.commitIntervalMs ?? DISPATCHER_DEFAULTS.commitIntervalMs;
  }

  get stats(): DeliveryStats {
    return this.#delivery.stats;
  }

  /** The pods this source has a running consumer on. */
  get pods(): string[] {
    return [...this.#members.keys()].sort();
  }

  /** In flight per pod. */
  inFlightByPod(): Record<string, number> {
    return Object.fromEntries([...this.#members].map(([pod, m]) => [pod, m.inFlight]));
  }

  /**
   * Runs one consumer on each of these pods and none elsewhere, one change at a time; a call
   * made meanwhile only moves the target. Never rejects: a step that fails (Kafka down) is
   * logged and the group stays where it got to; the next call retries (the runtime calls
   * this every scaling tick, which also replaces a consumer that crashed for good).
   */
  setPods(pods: readonly string[]): Promise<void> {
    this.#desired = [...new Set(pods)];
    return (this.#changing ??= this.#converge());
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    this.#delivery.stop();
    await this.#changing;
    await Promise.all(this.pods.map((pod) => this.#removeMember(pod)));
  }

  async #converge(): Promise<void> {
    // Yield first, so that `#changing` is set before the `finally` below clears it.
    await Promise.resolve();
    try {
      for (;;) {
        if (this.#stopping) break;
        const gone = this.pods.find((pod) => !this.#desired.includes(pod));
        if (gone !== undefined) {
          await this.#removeMember(gone);
          continue;
        }
        const missing = this.#desired.find((pod) => !this.#members.has(pod));
        if (missing === undefined) break;
        await this.#addMember(missing);
      }
    } catch (error) {
      this.onEvent(`${this.spec.name}: placing consumers on ${this.#desired.join(', ') || 'no pod'} stopped at ${this.pods.join(', ') || 'none'} (${(error as Error).message}); retrying on the next step`);
    } finally {
      this.#changing = undefined;
    }
  }

  async #addMember(pod: string): Promise<void> {
    const consumer = this.kafka.consumer({ groupId: this.spec.consumerGroup, sessionTimeout: 10_000, heartbeatInterval: HEARTBEAT_EVERY_MS, maxWaitTimeInMs: 250 });
    const member: Member = { pod, consumer, offsets: new Map(), timer: undefined, active: new Set(), inFlight: 0, wake: undefined, polling: Promise.resolve(), draining: false };
    let crashed = false;
    // After a retriable crash kafkajs restarts the consumer; after any other it stays
    // disconnected: it leaves the group here and the next setPods replaces it.
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (payload.restart) {
        this.onEvent(`${this.spec.name}@${pod}: consumer crashed (${payload.error.message}); kafkajs restarts it`);
        return;
      }
      crashed = true;
      clearInterval(member.timer);
      if (this.#members.get(pod) === member) this.#members.delete(pod);
      this.onEvent(`${this.spec.name}@${pod}: consumer crashed for good (${payload.error.message}); the next scaling step replaces it`);
    });
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: this.spec.topics, fromBeginning: this.spec.initialOffset === 'earliest' });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        // Ordered: every assigned partition has its own record in flight.
        partitionsConsumedConcurrently: 16,
        eachBatch: (payload) => (this.spec.ordering === 'ordered' ? this.#ordered(member, payload) : this.#unordered(member, payload)),
      });
      // kafkajs reports a failure to join the group as a crash, not as an error of run().
      if (crashed) throw new Error('consumer crashed while joining the group');
    } catch (error) {
      await consumer.disconnect().catch(() => undefined);
      throw error;
    }
    member.timer = setInterval(() => void this.#commit(member), this.#commitIntervalMs);
    this.#members.set(pod, member);
  }

  /** One record at a time per partition; the next only once this one is done. */
  async #ordered(member: Member, { batch, resolveOffset, heartbeat, isRunning, isStale }: BatchPayload): Promise<void> {
    const tracker = this.#tracker(member, batch.topic, batch.partition);
    for (const record of batch.messages) {
      if (!isRunning() || isStale() || this.#stopping || member.draining) break;
      const offset = Number(record.offset);
      tracker.start(offset);
      const delivery = this.#track(member, this.#deliverRecord(record, batch, tracker, offset));
      if (!(await whileHeartbeating(delivery, heartbeat))) break;
      if (this.#stopping) break;
      resolveOffset(record.offset);
    }
  }

  /**
   * Polls of up to max.poll.records, each taken only while fewer than that are in flight;
   * the records of a poll are all dispatched at once and the batch moves on without waiting
   * for them (the offsets commit only once they are done).
   */
  async #unordered(member: Member, { batch, resolveOffset, heartbeat, isRunning, isStale }: BatchPayload): Promise<void> {
    const tracker = this.#tracker(member, batch.topic, batch.partition);
    const max = this.#maxPollRecords;
    for (let i = 0; i < batch.messages.length; i += max) {
      let admitted = false;
      const poll = member.polling.then(async () => {
        if (!(await whileHeartbeating(this.#belowMaxPollRecords(member), heartbeat))) return;
        if (!isRunning() || isStale() || this.#stopping || member.draining) return;
        const chunk = batch.messages.slice(i, i + max);
        for (const record of chunk) {
          const offset = Number(record.offset);
          tracker.start(offset);
          void this.#track(member, this.#deliverRecord(record, batch, tracker, offset));
        }
        resolveOffset(chunk[chunk.length - 1]!.offset);
        admitted = true;
      });
      member.polling = poll.catch(() => undefined);
      await poll;
      if (!admitted) break;
    }
  }

  /** Resolves once fewer than max.poll.records records of this consumer are in flight. */
  async #belowMaxPollRecords(member: Member): Promise<void> {
    while (member.inFlight >= this.#maxPollRecords && !this.#stopping && !member.draining) {
      await new Promise<void>((resolve) => (member.wake = resolve));
    }
  }

  #tracker(member: Member, topic: string, partition: number): PartitionOffsets {
    const key = `${topic}:${partition}`;
    let tracker = member.offsets.get(key);
    if (!tracker) member.offsets.set(key, (tracker = new PartitionOffsets()));
    return tracker;
  }

  #track(member: Member, work: Promise<void>): Promise<void> {
    member.inFlight++;
    member.active.add(work);
    void work.finally(() => {
      member.active.delete(work);
      member.inFlight--;
      const wake = member.wake;
      member.wake = undefined;
      wake?.();
    });
    return work;
  }

  async #deliverRecord(record: BatchPayload['batch']['messages'][number], batch: BatchPayload['batch'], tracker: PartitionOffsets, offset: number): Promise<void> {
    const origin = { namespace: this.namespace, source: this.spec.name, topic: batch.topic, partition: batch.partition };
    // Not delivered and not dead-lettered (stopping): left uncommitted for redelivery.
    if (await this.#delivery.deliver(deliveredMessage(record, origin), () => deliveredEvent(record, origin))) tracker.done(offset);
  }

  /**
   * A pod going away: stop fetching, let the deliveries in flight finish, commit what is
   * done, then leave the group (its partitions move to the remaining consumers from that
   * commit on). Never throws, so stop() always gets to disconnect every consumer.
   */
  async #removeMember(pod: string): Promise<void> {
    const member = this.#members.get(pod);
    if (!member) return;
    this.#members.delete(pod);
    clearInterval(member.timer);
    member.draining = true;
    member.wake?.();
    try {
      member.consumer.pause(this.spec.topics.map((topic) => ({ topic })));
    } catch {
      // Not running (kafkajs is restarting it after a crash): nothing to pause.
    }
    await Promise.allSettled([...member.active]);
    await this.#commit(member);
    await member.consumer.stop().catch(() => undefined);
    await member.consumer.disconnect().catch(() => undefined);
  }

  async #commit(member: Member): Promise<void> {
    const commits: { topic: string; partition: number; offset: string; tracker: PartitionOffsets; value: number }[] = [];
    for (const [key, tracker] of member.offsets) {
      const value = tracker.committable();
      if (value === undefined) continue;
      const separator = key.lastIndexOf(':');
      commits.push({ topic: key.slice(0, separator), partition: Number(key.slice(separator + 1)), offset: String(value), tracker, value });
    }
    if (commits.length === 0) return;
    try {
      await member.consumer.commitOffsets(commits.map(({ topic, partition, offset }) => ({ topic, partition, offset })));
      for (const c of commits) c.tracker.committed(c.value);
    } catch (error) {
      // Lost the partition in a rebalance: its new owner starts from the last commit (at-least-once).
      this.onEvent(`${this.spec.name}@${member.pod}: commit skipped in a rebalance (${(error as Error).message}); the new owner resumes from the last commit`);
    }
  }
}

type BatchPayload = Parameters<NonNullable<Parameters<Consumer['run']>[0]>['eachBatch'] & {}>[0];

/** Waits for `work`, heartbeating meanwhile; false when the group rebalanced under it. */
async function whileHeartbeating(work: Promise<void>, heartbeat: () => Promise<void>): Promise<boolean> {
  let done = false;
  const finished = work.then(() => {
    done = true;
  });
  while (!done) {
    await Promise.race([finished, sleep(HEARTBEAT_EVERY_MS)]);
    if (done) break;
    try {
      await heartbeat();
    } catch {
      // A rebalance: the partition may be gone; what is in flight finishes, unrecorded records wait for the new owner.
      await finished;
      return false;
    }
  }
  return true;
}
