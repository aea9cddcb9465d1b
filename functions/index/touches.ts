/**
 * "Window touched" notices, debounced: at most one leading notice per window per period,
 * plus one trailing notice when more events reached the window inside the period, so the
 * last events of a burst are never left without a recomputation.
 */
export interface TouchDecision {
  /** Windows to notify now, before the requests of this flush are answered. */
  now: string[];
  /** Windows to notify once their period is over, with the delay in ms. */
  later: { window: string; delayMs: number }[];
}

export class TouchDebouncer {
  readonly #lastSent = new Map<string, number>();
  readonly #trailing = new Set<string>();

  constructor(private readonly periodMs: number) {}

  decide(windows: Iterable<string>, nowMs: number): TouchDecision {
    const decision: TouchDecision = { now: [], later: [] };
    for (const window of new Set(windows)) {
      const last = this.#lastSent.get(window);
      if (last === undefined || nowMs - last >= this.periodMs) {
        this.#lastSent.set(window, nowMs);
        this.#trailing.delete(window);
        decision.now.push(window);
      } else if (!this.#trailing.has(window)) {
        this.#trailing.add(window);
        decision.later.push({ window, delayMs: last + this.periodMs - nowMs });
      }
    }
    this.#forgetOlderThan(nowMs - 10 * this.periodMs);
    return decision;
  }

  /** A trailing notice was sent (or is being sent) now. */
  sentTrailing(window: string, nowMs: number): void {
    this.#trailing.delete(window);
    this.#lastSent.set(window, nowMs);
  }

  /** A notice could not be produced: forget it so the next touch sends again. */
  failed(window: string): void {
    this.#lastSent.delete(window);
    this.#trailing.delete(window);
  }

  #forgetOlderThan(cutoffMs: number): void {
    for (const [window, at] of this.#lastSent) {
      if (at < cutoffMs && !this.#trailing.has(window)) this.#lastSent.delete(window);
    }
  }
}

/**
 * The timers of the trailing notices a TouchDebouncer asked for: at most one per window.
 * The debouncer only asks for a trailing notice when, in its view, none is pending, so a
 * timer still armed for that window is stale (left over from before `failed()` reset the
 * window): it is replaced, not doubled. `flush` sends every pending notice once, now.
 */
export class TrailingNotices {
  readonly #timers = new Map<string, NodeJS.Timeout>();

  /** `send` sends the trailing notice of a window; it must not reject. */
  constructor(private readonly send: (window: string) => Promise<void>) {}

  schedule(window: string, delayMs: number): void {
    clearTimeout(this.#timers.get(window));
    const timer = setTimeout(() => {
      if (this.#timers.get(window) === timer) this.#timers.delete(window);
      void this.send(window);
    }, delayMs);
    this.#timers.set(window, timer);
  }

  get pending(): number {
    return this.#timers.size;
  }

  /** Sends every pending notice now (at close), each exactly once, and waits for the sends. */
  async flush(): Promise<void> {
    const windows = [...this.#timers.keys()];
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    await Promise.all(windows.map((window) => this.send(window)));
  }
}

export interface WindowNoticeOptions {
  /** Produces the "window touched" notice of a window. */
  send: (window: string) => Promise<void>;
  periodMs: number;
  now: () => number;
  /** Called for each leading notice produced. */
  onSent?: () => void;
}

/**
 * The notices of the windows a flush touched: the leading ones are produced before the
 * flush's requests are answered, the trailing ones once their period is over. A notice
 * that could not be produced makes the next touch of its window send again.
 */
export class WindowNotices {
  readonly #debouncer: TouchDebouncer;
  readonly #trailing: TrailingNotices;

  constructor(private readonly o: WindowNoticeOptions) {
    this.#debouncer = new TouchDebouncer(o.periodMs);
    // A trailing notice answers no request: when it fails, the next touch sends again.
    this.#trailing = new TrailingNotices(async (window) => {
      this.#debouncer.sentTrailing(window, o.now());
      await o.send(window).catch(() => this.#debouncer.failed(window));
    });
  }

  /** Resolves once every leading notice is produced; rejects if one could not be. */
  async touched(windows: string[]): Promise<void> {
    const decision = this.#debouncer.decide(windows, this.o.now());
    for (const { window, delayMs } of decision.later) this.#trailing.schedule(window, delayMs);
    await Promise.all(
      decision.now.map((window) =>
        this.o.send(window).then(
          () => this.o.onSent?.(),
          (error: unknown) => {
            this.#debouncer.failed(window);
            throw error;
          },
        ),
      ),
    );
  }

  /** Sends every pending trailing notice now (at close). */
  flush(): Promise<void> {
    return this.#trailing.flush();
  }
}
