/**
 * Micro-batcher: requests park their item on a shared batch that goes out at `maxItems`,
 * after `maxWaitMs`, or at once when no batch is in flight — waiting then buys nothing, and
 * what arrives while a batch is out joins the next one, so batches grow with the load and an
 * idle batcher adds no delay. Each caller's promise settles with the outcome of its own item,
 * so one request can fail while the rest of its batch succeeds.
 *
 * Backpressure: at most `concurrency.limit` batches are in flight (an adaptive limit follows
 * the store's answers); while every slot is taken, items wait and the next batch takes up to
 * `maxBatchItems` of them. A store that falls behind therefore sees fewer, larger batches,
 * and callers wait instead of failing — until an item has waited `maxQueueMs`, when it is
 * refused (`queueTimeout`) early enough for the caller to answer before its client gives up.
 */
import { AdaptiveLimit, type ConcurrencyLimit } from './concurrency.ts';
import { PipelineError, downstreamUnavailable } from './errors.ts';

export type Outcome<R> = { ok: true; value: R } | { ok: false; error: unknown };

/** Handles one batch; returns one outcome per item, in order. Throwing fails every item. */
export type FlushFn<T, R> = (items: T[]) => Promise<Outcome<R>[]>;

export interface BatcherOptions {
  maxItems: number;
  maxWaitMs: number;
  /** The most a batch takes when items have queued behind full slots; default maxItems. */
  maxBatchItems?: number;
  /** Batches in flight at once; default unbounded. */
  concurrency?: ConcurrencyLimit;
  /** An item waiting this long for a slot is refused with queueTimeout(); default never. */
  maxQueueMs?: number;
  queueTimeout?: (waitedMs: number) => Error;
  /** Whether a failed item (or a thrown batch) means the store is overloaded: feeds the concurrency limit. */
  isOverload?: (error: unknown) => boolean;
  /** Called with each flushed batch's size (metrics). */
  onFlush?: (size: number) => void;
  now?: () => number;
}

interface Pending<T, R> {
  item: T;
  resolve: (value: R) => void;
  reject: (error: unknown) => void;
  since: number;
}

export class MicroBatcher<T, R> {
  #pending: Pending<T, R>[] = [];
  #timer: NodeJS.Timeout | undefined;
  #soon: NodeJS.Immediate | undefined;
  #expiry: NodeJS.Timeout | undefined;
  #inFlight = new Set<Promise<void>>();
  #closed = false;
  readonly #now: () => number;
  readonly #maxBatchItems: number;

  constructor(
    private readonly flushFn: FlushFn<T, R>,
    private readonly options: BatcherOptions,
  ) {
    if (!Number.isInteger(options.maxItems) || options.maxItems < 1) throw new RangeError('maxItems must be an integer >= 1');
    if (!Number.isFinite(options.maxWaitMs) || options.maxWaitMs < 0) throw new RangeError('maxWaitMs must be a finite number >= 0');
    this.#maxBatchItems = options.maxBatchItems ?? options.maxItems;
    if (!Number.isInteger(this.#maxBatchItems) || this.#maxBatchItems < options.maxItems) throw new RangeError('maxBatchItems must be an integer >= maxItems');
    this.#now = options.now ?? Date.now;
  }

  add(item: T): Promise<R> {
    if (this.#closed) return Promise.reject(downstreamUnavailable('shutting down: the batcher is closed'));
    return new Promise<R>((resolve, reject) => {
      this.#pending.push({ item, resolve, reject, since: this.#now() });
      this.#schedule();
    });
  }

  get #slotFree(): boolean {
    return this.#inFlight.size < (this.options.concurrency?.limit ?? Number.POSITIVE_INFINITY);
  }

  /** Decides when the parked items go: now, after this turn, after the timer, or when a slot frees. */
  #schedule(): void {
    if (this.#pending.length === 0) return;
    this.#armExpiry();
    if (!this.#slotFree) return;
    if (this.#pending.length >= this.options.maxItems) this.flush();
    else if (this.#inFlight.size === 0) this.#flushSoon();
    else this.#timer ??= setTimeout(() => this.flush(), this.options.maxWaitMs);
  }

  /** Flushes after the current turn of the event loop, so items arriving together share a batch. */
  #flushSoon(): void {
    this.#soon ??= setImmediate(() => {
      this.#soon = undefined;
      void this.flush();
    });
  }

  /** Refuses the items that waited maxQueueMs for a slot; re-armed while items wait. */
  #armExpiry(): void {
    const max = this.options.maxQueueMs;
    if (max === undefined || this.#expiry || this.#pending.length === 0) return;
    const wait = Math.max(0, this.#pending[0]!.since + max - this.#now());
    this.#expiry = setTimeout(() => {
      this.#expiry = undefined;
      this.#expire();
      this.#armExpiry();
    }, wait);
    this.#expiry.unref?.();
  }

  #expire(): void {
    const max = this.options.maxQueueMs;
    if (max === undefined) return;
    const now = this.#now();
    const expired: Pending<T, R>[] = [];
    while (this.#pending.length > 0 && now - this.#pending[0]!.since >= max) expired.push(this.#pending.shift()!);
    for (const p of expired) p.reject(this.options.queueTimeout?.(now - p.since) ?? new Error(`waited ${now - p.since} ms for a batch`));
  }

  /**
   * Sends up to maxBatchItems of what is parked now, if a slot is free (when none is, the
   * batch goes as soon as one frees); resolves when that batch has settled.
   */
  flush(): Promise<void> {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#soon) {
      clearImmediate(this.#soon);
      this.#soon = undefined;
    }
    this.#expire();
    if (this.#pending.length === 0 || !this.#slotFree) return Promise.resolve();
    const batch = this.#pending.splice(0, this.#maxBatchItems);
    this.options.onFlush?.(batch.length);
    const run = this.#settle(batch);
    this.#inFlight.add(run);
    void run.finally(() => {
      this.#inFlight.delete(run);
      // What gathered while this batch was out goes next.
      if (this.#pending.length > 0) {
        if (this.#pending.length >= this.options.maxItems || this.#inFlight.size === 0) this.#flushSoon();
        else this.#schedule();
      }
      if (this.#pending.length === 0 && this.#expiry) {
        clearTimeout(this.#expiry);
        this.#expiry = undefined;
      }
    });
    return run;
  }

  /** Flushes everything parked (batch after batch), waits for every batch in flight, and refuses new items. */
  async close(): Promise<void> {
    this.#closed = true;
    for (;;) {
      if (this.#pending.length > 0 && this.#slotFree) {
        void this.flush();
        continue;
      }
      if (this.#inFlight.size === 0) break;
      await Promise.race(this.#inFlight);
    }
    if (this.#expiry) clearTimeout(this.#expiry);
  }

  get pending(): number {
    return this.#pending.length;
  }

  get inFlight(): number {
    return this.#inFlight.size;
  }

  async #settle(batch: Pending<T, R>[]): Promise<void> {
    const started = this.#now();
    let outcomes: Outcome<R>[];
    try {
      outcomes = await this.flushFn(batch.map((p) => p.item));
    } catch (error) {
      this.options.concurrency?.record(this.#now() - started, this.options.isOverload?.(error) ?? true);
      for (const p of batch) p.reject(error);
      return;
    }
    const overloaded = outcomes.some((o) => !o.ok && (this.options.isOverload?.(o.error) ?? false));
    this.options.concurrency?.record(this.#now() - started, overloaded);
    batch.forEach((p, i) => {
      const outcome = outcomes[i];
      if (!outcome) p.reject(new Error(`batch handler returned no outcome for item ${i}`));
      else if (outcome.ok) p.resolve(outcome.value);
      else p.reject(outcome.error);
    });
  }
}

export interface BatchingConfig {
  BATCH_MAX_ITEMS: number;
  BATCH_MAX_WAIT_MS: number;
  BATCH_CAP_ITEMS: number;
  STORE_MAX_IN_FLIGHT: number;
  STORE_SLOW_MS: number;
  QUEUE_TIMEOUT_MS: number;
}

/**
 * The batcher options of a function's store (Kafka or Elasticsearch) from its configuration:
 * an adaptive limit of batches in flight that starts at one, and a queue timeout answered
 * as 503. A batch counts as overloaded when it failed as a whole or an item failed with
 * a 503 (the store's trouble, not the event's).
 */
export function storeBatching(config: BatchingConfig, store: string): Omit<BatcherOptions, 'onFlush'> {
  return {
    maxItems: config.BATCH_MAX_ITEMS,
    maxWaitMs: config.BATCH_MAX_WAIT_MS,
    maxBatchItems: Math.max(config.BATCH_MAX_ITEMS, config.BATCH_CAP_ITEMS),
    concurrency: new AdaptiveLimit({ initial: 1, max: config.STORE_MAX_IN_FLIGHT, slowMs: config.STORE_SLOW_MS }),
    maxQueueMs: config.QUEUE_TIMEOUT_MS,
    queueTimeout: (waitedMs) => downstreamUnavailable(`${store} is behind: the request waited ${waitedMs} ms for a batch`),
    isOverload: (error) => !(error instanceof PipelineError) || error.statusCode === 503,
  };
}
