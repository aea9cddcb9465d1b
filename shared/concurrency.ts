/**
 * How many batches a process keeps in flight towards its store. AIMD, as TCP and Netflix's
 * concurrency-limits (AIMDLimit) do it: a batch the store answered as overloaded (a timeout,
 * 429, 5xx, a rejected execution) or slowly (over `slowMs`) cuts the limit by `backoff`;
 * `limit` good batches in a row raise it by one. Between `min` and `max`.
 *
 * Why: a store that slows down gets fewer concurrent batches — so larger ones — instead of
 * more and more requests that time out and come back as retries; a store with room gets more.
 */
export interface ConcurrencyLimit {
  readonly limit: number;
  /** One batch's answer: how long it took and whether the store said it was overloaded. */
  record(latencyMs: number, overloaded: boolean): void;
}

export interface AdaptiveLimitOptions {
  initial?: number;
  min?: number;
  max: number;
  slowMs: number;
  backoff?: number;
}

export class AdaptiveLimit implements ConcurrencyLimit {
  #limit: number;
  #good = 0;
  readonly #min: number;
  readonly #max: number;
  readonly #slowMs: number;
  readonly #backoff: number;

  constructor(options: AdaptiveLimitOptions) {
    this.#min = options.min ?? 1;
    this.#max = options.max;
    this.#slowMs = options.slowMs;
    this.#backoff = options.backoff ?? 0.5;
    if (!Number.isInteger(this.#min) || this.#min < 1 || !Number.isInteger(this.#max) || this.#max < this.#min) throw new RangeError(`need 1 <= min <= max, got ${this.#min}, ${this.#max}`);
    if (!(this.#backoff > 0 && this.#backoff < 1)) throw new RangeError(`backoff must be in (0, 1), got ${this.#backoff}`);
    this.#limit = Math.min(this.#max, Math.max(this.#min, options.initial ?? this.#min));
  }

  get limit(): number {
    return this.#limit;
  }

  record(latencyMs: number, overloaded: boolean): void {
    if (overloaded || latencyMs > this.#slowMs) {
      this.#limit = Math.max(this.#min, Math.floor(this.#limit * this.#backoff));
      this.#good = 0;
      return;
    }
    if (++this.#good >= this.#limit) {
      this.#good = 0;
      this.#limit = Math.min(this.#max, this.#limit + 1);
    }
  }
}

/** A fixed limit. */
export function fixedLimit(limit: number): ConcurrencyLimit {
  return { limit, record: () => undefined };
}
