/**
 * Feeds the late-events counter from aggregate documents. A document carries the late
 * events of its cell so far, and recomputations repeat; the counter takes only the
 * increase since this process last saw the cell.
 */
import { windowEndOf } from '../../shared/window.ts';
import { cellKey, type AggregateDoc } from './aggregate.ts';

/** Cells of windows that ended longer ago than this are forgotten. */
const HORIZON_MS = 24 * 60 * 60 * 1000;

export class LateEvents {
  /** Per window start, the late_events last seen per cell. */
  readonly #seen = new Map<string, Map<string, number>>();

  constructor(
    private readonly counter: { inc(value: number): void },
    private readonly now: () => number,
  ) {}

  count(docs: AggregateDoc[]): void {
    for (const doc of docs) {
      const cells = this.#seen.get(doc.window_start) ?? new Map<string, number>();
      const key = cellKey(doc.event_type, doc.region);
      const seen = cells.get(key) ?? 0;
      if (doc.late_events > seen) {
        this.counter.inc(doc.late_events - seen);
        cells.set(key, doc.late_events);
        this.#seen.set(doc.window_start, cells);
      }
    }
    const horizon = this.now() - HORIZON_MS;
    for (const windowStart of this.#seen.keys()) {
      if (windowEndOf(Date.parse(windowStart)) < horizon) this.#seen.delete(windowStart);
    }
  }

  /** Windows with a cell remembered. */
  get windows(): number {
    return this.#seen.size;
  }
}
