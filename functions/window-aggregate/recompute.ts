/**
 * Recomputes window aggregates from the store: on a notice for one window, and on the
 * finalize tick for every window that needs it. Exact under at-least-once delivery because
 * every write is idempotent (see store.ts); this module decides when to read and what to
 * write, and keeps repeated notices from costing repeated recomputations.
 */
import type { Metrics } from '../../shared/metrics.ts';
import { isWindowFinal } from '../../shared/window.ts';
import { aggregateDocs, finalCountsOf, windowsToRecompute, type Cell, type FinalCounts } from './aggregate.ts';
import { CoveredWindows } from './covered.ts';
import { LateEvents } from './late-events.ts';
import { RefreshGate } from './refresh-gate.ts';
import { SingleFlight } from './single-flight.ts';
import type { WindowStore } from './store.ts';
import { Watermark, type UpstreamBehind } from './watermark.ts';

const DAY_MS = 86_400_000;
const KEPT_REFRESH_GATES = 4;

export interface AggregatorOptions {
  store: WindowStore;
  metrics: Pick<Metrics, 'recomputes' | 'windowsFinalized' | 'lateEvents'>;
  /** Whether upstream still holds older events; never, when absent. */
  upstreamBehind?: UpstreamBehind;
  latenessMs: number;
  refreshMinIntervalMs: number;
  finalizeLookbackMs: number;
  now: () => number;
  /** Waits between spaced refreshes. */
  sleep?: (ms: number) => Promise<unknown>;
}

export interface RecomputeResult {
  window_start: string;
  cells: number;
  events: number;
  status: 'open' | 'final' | 'empty';
  watermark: string | null;
  /** Answered from a recomputation that already covered the notice. */
  coalesced?: boolean;
}

export class WindowAggregator {
  readonly watermark: Watermark;
  readonly #flights = new SingleFlight<number, RecomputeResult>();
  readonly #covered = new CoveredWindows<RecomputeResult>();
  /** By UTC day: the events of one day are one index, refreshed apart from the others. */
  readonly #refreshes = new Map<number, RefreshGate>();
  readonly #late: LateEvents;

  constructor(private readonly o: AggregatorOptions) {
    this.watermark = new Watermark(o.latenessMs, o.upstreamBehind);
    this.#late = new LateEvents(o.metrics.lateEvents, o.now);
  }

  /**
   * Recomputes one window. A notice produced before a finished recomputation's refresh
   * began is answered by it; calls for a window being recomputed share one follow-up run.
   */
  recompute(windowStartMs: number, trigger: 'touched' | 'finalize', noticeAtMs?: number): Promise<RecomputeResult> {
    const covered = noticeAtMs === undefined ? undefined : this.#covered.answer(windowStartMs, noticeAtMs);
    if (covered) return Promise.resolve({ ...covered, coalesced: true });
    return this.#flights.run(windowStartMs, () => this.#compute(windowStartMs, trigger));
  }

  /** The finalize tick: advance the watermark by wall clock when idle, then recompute what needs it. */
  async finalizeTick(): Promise<{ watermark: string | null; recomputed: string[] }> {
    const now = this.o.now();
    // With no backlog upstream, wall clock moves the watermark even when the stream stopped.
    await this.watermark.observe(now, now);
    const states = await this.o.store.windowStates(now - this.o.finalizeLookbackMs);
    // What this process already recomputed after the window's newest indexing is not due again.
    const due = windowsToRecompute(
      states.map((s) => this.#covered.withCovered(s)),
      this.watermark.value,
    );
    for (const w of due) await this.recompute(w, 'finalize');
    return { watermark: isoOrNull(this.watermark.value), recomputed: due.map((w) => new Date(w).toISOString()) };
  }

  async #compute(windowStartMs: number, trigger: 'touched' | 'finalize'): Promise<RecomputeResult> {
    const { store, metrics } = this.o;
    metrics.recomputes.inc({ trigger });
    const windowStart = new Date(windowStartMs).toISOString();
    // Whether this computation may finalize the window rests only on what was known before
    // its refresh: the newest event time as of the previous refresh (never ahead of this one)
    // and the upstream backlog read now. An event that leaves the backlog after this read was
    // indexed before the refresh and is counted; read after the refresh, the backlog could
    // miss one that slipped through in between.
    const latest = await store.latestEventTime();
    const watermark = await this.watermark.observe(latest, this.o.now());
    const asOf = await this.#refreshGateOf(windowStartMs).after(this.o.now());
    const cells = await store.cells(windowStart);
    if (cells.length === 0) return { window_start: windowStart, cells: 0, events: 0, status: 'empty', watermark: isoOrNull(watermark) };

    let finals = await store.finalCounts(windowStart);
    if (!finals && isWindowFinal(windowStartMs, watermark)) finals = await this.#recordFinal(windowStart, cells);

    const docs = aggregateDocs(windowStartMs, cells, finals, asOf);
    await store.writeAggregates(docs);
    this.#late.count(docs);
    const result: RecomputeResult = {
      window_start: windowStart,
      cells: docs.length,
      events: docs.reduce((s, d) => s + d.count, 0),
      status: finals ? 'final' : 'open',
      watermark: isoOrNull(watermark),
    };
    this.#covered.record(windowStartMs, asOf, result);
    return result;
  }

  #refreshGateOf(windowStartMs: number): RefreshGate {
    const day = Math.floor(windowStartMs / DAY_MS);
    let gate = this.#refreshes.get(day);
    if (!gate) {
      const { store, refreshMinIntervalMs, now, sleep } = this.o;
      const windowOfDay = new Date(windowStartMs).toISOString();
      gate = new RefreshGate({ refresh: () => store.refreshEvents(windowOfDay), minIntervalMs: refreshMinIntervalMs, now, sleep });
      this.#refreshes.set(day, gate);
      // Only the last few days are recomputed often; a forgotten gate costs one unshared refresh.
      if (this.#refreshes.size > KEPT_REFRESH_GATES) this.#refreshes.delete(this.#refreshes.keys().next().value!);
    }
    return gate;
  }

  /** First finalization wins: whoever creates the record first fixes the final counts. */
  async #recordFinal(windowStart: string, cells: Cell[]): Promise<FinalCounts> {
    const record = { window_start: windowStart, finalized_at: new Date(this.o.now()).toISOString(), counts: finalCountsOf(cells) };
    const { created, counts } = await this.o.store.createFinal(record);
    if (created) this.o.metrics.windowsFinalized.inc();
    return counts;
  }
}

function isoOrNull(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}
