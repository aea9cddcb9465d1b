/**
 * One run at a time per key. A call that arrives while a run is under way queues one
 * follow-up, shared by every call until it starts: it starts after the current run settles,
 * so it sees everything announced before it started, and a burst of notices for one window
 * costs at most two recomputations.
 */
export class SingleFlight<K, T> {
  readonly #runs = new Map<K, { current: Promise<T>; next?: Promise<T> }>();

  run(key: K, task: () => Promise<T>): Promise<T> {
    const entry = this.#runs.get(key);
    if (!entry) {
      const current = task();
      this.#start(key, current);
      return current;
    }
    entry.next ??= entry.current.catch(() => undefined).then(task);
    return entry.next;
  }

  /** Keys with a run under way. */
  get running(): number {
    return this.#runs.size;
  }

  /** Makes `run` the key's current run; when it settles, its follow-up (if any) takes over. */
  #start(key: K, run: Promise<T>): void {
    this.#runs.set(key, { current: run });
    // Both outcomes handled here, so a failed run is only its callers' rejection, never an unhandled one.
    const advance = () => {
      const next = this.#runs.get(key)?.next;
      if (next) this.#start(key, next);
      else this.#runs.delete(key);
    };
    run.then(advance, advance);
  }
}
