/**
 * What this process's finished recomputations already cover: per window, the start time of
 * the refresh the newest one read after, and its result. A notice, or an indexing, older
 * than that refresh needs no new recomputation.
 */
import type { WindowState } from './aggregate.ts';

/** Clocks of the index and window-aggregate processes may differ by this much. */
export const CLOCK_SKEW_MARGIN_MS = 1000;

/** Windows remembered; past this, the older half is forgotten. */
const MAX_WINDOWS = 10_000;

export class CoveredWindows<R> {
  readonly #byWindow = new Map<number, { asOf: number; result: R }>();

  /**
   * The result that already answers a notice produced at `noticeAtMs`: the events it
   * announces were indexed before the notice was produced, so before that refresh began.
   */
  answer(windowStartMs: number, noticeAtMs: number): R | undefined {
    const covered = this.#byWindow.get(windowStartMs);
    return covered && covered.asOf >= noticeAtMs + CLOCK_SKEW_MARGIN_MS ? covered.result : undefined;
  }

  /** Records a finished recomputation that read the window after a refresh started at `asOf`. */
  record(windowStartMs: number, asOf: number, result: R): void {
    const previous = this.#byWindow.get(windowStartMs);
    if (!previous || previous.asOf < asOf) this.#byWindow.set(windowStartMs, { asOf, result });
    if (this.#byWindow.size > MAX_WINDOWS) {
      for (const key of [...this.#byWindow.keys()].sort((a, b) => a - b).slice(0, MAX_WINDOWS / 2)) this.#byWindow.delete(key);
    }
  }

  /**
   * The window's stored state, its oldest computed_at raised to what this process covered.
   * A recomputation that changes no count writes nothing (its versions conflict), so the
   * stored computed_at can stay older than a re-indexed duplicate for good.
   */
  withCovered(state: WindowState): WindowState {
    const covered = this.#byWindow.get(state.windowStartMs);
    if (!covered || state.minComputedAtMs === undefined) return state;
    const asOf = covered.asOf - CLOCK_SKEW_MARGIN_MS;
    return asOf > state.minComputedAtMs ? { ...state, minComputedAtMs: asOf } : state;
  }
}
