/**
 * Shared, spaced refreshes of the `events` index. A recomputation must see every event
 * indexed before it began, which takes a refresh; refreshing once per notice would cost
 * Elasticsearch a segment per notice, so a refresh that started late enough serves every
 * caller, and new ones start at most every `minIntervalMs`.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export interface RefreshGateOptions {
  refresh: () => Promise<void>;
  minIntervalMs: number;
  now: () => number;
  sleep?: (ms: number) => Promise<unknown>;
}

export class RefreshGate {
  #last: { startedAt: number; done: Promise<void> } | undefined;

  constructor(private readonly o: RefreshGateOptions) {}

  /**
   * Resolves once everything indexed before `requestedAt` is searchable, with the start time
   * of the refresh that made it so.
   */
  async after(requestedAt: number): Promise<number> {
    for (;;) {
      const current = this.#last;
      if (current && current.startedAt >= requestedAt) {
        await current.done;
        return current.startedAt;
      }
      if (current) {
        await current.done.catch(() => undefined);
        const wait = current.startedAt + this.o.minIntervalMs - this.o.now();
        if (wait > 0) await (this.o.sleep ?? sleep)(wait);
        if (this.#last !== current) continue;
      }
      const startedAt = this.o.now();
      const done = this.o.refresh();
      this.#last = { startedAt, done };
      // A failed refresh serves nobody after its own callers: the next caller starts afresh.
      done.catch(() => {
        if (this.#last?.done === done) this.#last = undefined;
      });
      await done;
      return startedAt;
    }
  }
}
