/**
 * Micro-batcher: requests park their item on a shared batch that flushes at `maxItems`
 * or `maxWaitMs`, whichever comes first — and at once when no batch is in flight, because
 * then waiting buys nothing: items that arrive while a batch is in flight join the next one
 * (which goes out when that batch settles), so batches grow with the load and an idle
 * batcher adds no delay. Each caller's promise settles with the outcome of its own item, so
 * one request can fail while the rest of its batch succeeds.
 */
export type Outcome<R> = { ok: true; value: R } | { ok: false; error: unknown };

/** Handles one batch; returns one outcome per item, in order. Throwing fails every item. */
export type FlushFn<T, R> = (items: T[]) => Promise<Outcome<R>[]>;

export interface BatcherOptions {
  maxItems: number;
  maxWaitMs: number;
  /** Called with each flushed batch's size (metrics). */
  onFlush?: (size: number) => void;
}

interface Pending<T, R> {
  item: T;
  resolve: (value: R) => void;
  reject: (error: unknown) => void;
}

export class MicroBatcher<T, R> {
  #pending: Pending<T, R>[] = [];
  #timer: NodeJS.Timeout | undefined;
  #soon: NodeJS.Immediate | undefined;
  #inFlight = new Set<Promise<void>>();
  #closed = false;

  constructor(
    private readonly flushFn: FlushFn<T, R>,
    private readonly options: BatcherOptions,
  ) {
    if (!Number.isInteger(options.maxItems) || options.maxItems < 1) throw new RangeError('maxItems must be an integer >= 1');
    if (!Number.isFinite(options.maxWaitMs) || options.maxWaitMs < 0) throw new RangeError('maxWaitMs must be a finite number >= 0');
  }

  add(item: T): Promise<R> {
    if (this.#closed) return Promise.reject(new Error('batcher is closed'));
    return new Promise<R>((resolve, reject) => {
      this.#pending.push({ item, resolve, reject });
      if (this.#pending.length >= this.options.maxItems) this.flush();
      else if (this.#inFlight.size === 0) this.#flushSoon();
      else if (!this.#timer) this.#timer = setTimeout(() => this.flush(), this.options.maxWaitMs);
    });
  }

  /** Flushes after the current turn of the event loop, so items arriving together share a batch. */
  #flushSoon(): void {
    this.#soon ??= setImmediate(() => {
      this.#soon = undefined;
      void this.flush();
    });
  }

  /** Sends what is parked now; resolves when that batch has settled. */
  flush(): Promise<void> {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#soon) {
      clearImmediate(this.#soon);
      this.#soon = undefined;
    }
    if (this.#pending.length === 0) return Promise.resolve();
    const batch = this.#pending;
    this.#pending = [];
    this.options.onFlush?.(batch.length);
    const run = this.#settle(batch);
    this.#inFlight.add(run);
    void run.finally(() => {
      this.#inFlight.delete(run);
      // What gathered while this batch was out goes next.
      if (this.#pending.length > 0 && this.#inFlight.size === 0) this.#flushSoon();
    });
    return run;
  }

  /** Flushes what is parked, waits for every batch in flight, and refuses new items. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.flush();
    await Promise.all([...this.#inFlight]);
  }

  get pending(): number {
    return this.#pending.length;
  }

  async #settle(batch: Pending<T, R>[]): Promise<void> {
    let outcomes: Outcome<R>[];
    try {
      outcomes = await this.flushFn(batch.map((p) => p.item));
    } catch (error) {
      for (const p of batch) p.reject(error);
      return;
    }
    batch.forEach((p, i) => {
      const outcome = outcomes[i];
      if (!outcome) p.reject(new Error(`batch handler returned no outcome for item ${i}`));
      else if (outcome.ok) p.resolve(outcome.value);
      else p.reject(outcome.error);
    });
  }
}
