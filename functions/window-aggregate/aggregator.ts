/**
 * Recomputes window aggregates from the `events` index and writes them so that the result
 * is exact under at-least-once delivery: deterministic ids, external versions that only
 * grow (a version conflict means a newer result is already there), and final counts
 * recorded once with op_type=create (first write wins). No read-modify-write anywhere.
 */
import { errors, type Client } from '@elastic/elasticsearch';
import type { Admin } from 'kafkajs';
import { downstreamUnavailable } from '../../shared/errors.ts';
import { readBacklogBefore } from '../../shared/lag.ts';
import type { Metrics } from '../../shared/metrics.ts';
import { aggregateVersion, isWindowFinal, watermarkOf, windowEndOf } from '../../shared/window.ts';
import {
  Watermark,
  aggregateDocId,
  aggregateDocs,
  cellKey,
  cellsOf,
  finalCountsOf,
  RESPONSE_FILTER,
  windowCellSearches,
  windowsToRecompute,
  type AggregateDoc,
  type FinalCounts,
  type WindowState,
} from './aggregate.ts';

export interface AggregatorOptions {
  es: Client;
  /** Reads consumer-group lag; absent when no upstream groups are configured. */
  admin?: Admin | undefined;
  metrics: Metrics;
  eventsIndex: string;
  aggregatesIndex: string;
  finalsIndex: string;
  latenessMs: number;
  upstream: { group: string; topic: string }[];
  refreshMinIntervalMs: number;
  lagCacheMs: number;
  finalizeLookbackMs: number;
  now: () => number;
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

/** Clocks of the index and window-aggregate processes may differ by this much. */
const CLOCK_SKEW_MARGIN_MS = 1000;

export class WindowAggregator {
  readonly watermark = new Watermark();
  readonly #running = new Map<number, { current: Promise<RecomputeResult>; next?: Promise<RecomputeResult> }>();
  /** Per window: the refresh time of the newest finished recomputation, and its result. */
  readonly #covered = new Map<number, { asOf: number; result: RecomputeResult }>();
  #refresh: { startedAt: number; done: Promise<void> } | undefined;
  #lag: { at: number; candidateMs: number; behind: Promise<boolean> } | undefined;
  /** Last late_events seen per cell, only to feed the Prometheus counter. */
  readonly #lateSeen = new Map<string, number>();

  constructor(private readonly o: AggregatorOptions) {}

  /**
   * Recomputes one window. Calls for a window that is being recomputed are coalesced into
   * one follow-up run, which starts after the current one and so sees every event whose
   * notice arrived before it started.
   */
  recompute(windowStartMs: number, trigger: 'touched' | 'finalize', noticeAtMs?: number): Promise<RecomputeResult> {
    // A notice produced before a finished recomputation's refresh began is already covered
    // by it: the events it announces were indexed before the notice was produced.
    const covered = this.#covered.get(windowStartMs);
    if (noticeAtMs !== undefined && covered && covered.asOf >= noticeAtMs + CLOCK_SKEW_MARGIN_MS) {
      return Promise.resolve({ ...covered.result, coalesced: true });
    }
    const entry = this.#running.get(windowStartMs);
    if (!entry) {
      const current = this.#compute(windowStartMs, trigger);
      this.#start(windowStartMs, current);
      return current;
    }
    entry.next ??= entry.current.catch(() => undefined).then(() => this.#compute(windowStartMs, trigger));
    return entry.next;
  }

  /** Makes `run` the window's current recomputation; when it settles, its follow-up (if any) takes over. */
  #start(windowStartMs: number, run: Promise<RecomputeResult>): void {
    this.#running.set(windowStartMs, { current: run });
    // Both outcomes handled here, so a failed run is only its callers' rejection, never an unhandled one.
    const advance = () => {
      const next = this.#running.get(windowStartMs)?.next;
      if (next) this.#start(windowStartMs, next);
      else this.#running.delete(windowStartMs);
    };
    run.then(advance, advance);
  }

  /** The finalize tick: advance the watermark by wall clock when idle, then recompute what needs it. */
  async finalizeTick(): Promise<{ watermark: string | null; recomputed: string[] }> {
    const now = this.o.now();
    // With no backlog upstream, wall clock moves the watermark even when the stream stopped.
    await this.#advanceWatermark(watermarkOf(now, now, this.o.latenessMs));
    const states = await this.#windowStates(now - this.o.finalizeLookbackMs);
    // A recomputation that changes no count writes nothing (its versions conflict), so the
    // stored computed_at can stay older than a re-indexed duplicate for good; what this
    // process already recomputed after the window's newest indexing is not due again.
    const due = windowsToRecompute(states.map((s) => this.#withCovered(s)), this.watermark.value);
    for (const w of due) await this.recompute(w, 'finalize');
    return { watermark: isoOrNull(this.watermark.value), recomputed: due.map((w) => new Date(w).toISOString()) };
  }

  async #compute(windowStartMs: number, trigger: 'touched' | 'finalize'): Promise<RecomputeResult> {
    const { es, metrics } = this.o;
    metrics.recomputes.inc({ trigger });
    const windowStart = new Date(windowStartMs).toISOString();
    // Whether this computation may finalize the window rests only on what was known before
    // its refresh: the newest event time as of the previous refresh (never ahead of this one)
    // and the upstream backlog read now. An event that leaves the backlog after this read was
    // indexed before the refresh and is counted; read after the refresh, the backlog could
    // miss one that slipped through in between.
    const latest = await this.#latestEventTime();
    const watermark = await this.#advanceWatermark(watermarkOf(latest, this.o.now(), this.o.latenessMs));
    const asOf = await this.#refreshedAfter(this.o.now());
    const aggregation = await es.msearch({ searches: windowCellSearches(this.o.eventsIndex, windowStart), filter_path: RESPONSE_FILTER });
    const cells = cellsOf(aggregation.responses as Parameters<typeof cellsOf>[0]);
    if (cells.length === 0) return { window_start: windowStart, cells: 0, events: 0, status: 'empty', watermark: isoOrNull(watermark) };

    let finals = await this.#finalCounts(windowStart);
    if (!finals && isWindowFinal(windowStartMs, watermark)) finals = await this.#recordFinal(windowStart, cells);

    const docs = aggregateDocs(windowStartMs, cells, finals, asOf);
    await writeAggregates(this.o.es, this.o.aggregatesIndex, docs);
    this.#countLate(docs);
    const result: RecomputeResult = {
      window_start: windowStart,
      cells: docs.length,
      events: docs.reduce((s, d) => s + d.count, 0),
      status: finals ? 'final' : 'open',
      watermark: isoOrNull(watermark),
    };
    this.#cover(windowStartMs, asOf, result);
    return result;
  }

  /** The window's state with the refresh time of this process's newest recomputation of it, if that is later. */
  #withCovered(state: WindowState): WindowState {
    const covered = this.#covered.get(state.windowStartMs);
    if (!covered || state.minComputedAtMs === undefined) return state;
    const asOf = covered.asOf - CLOCK_SKEW_MARGIN_MS;
    return asOf > state.minComputedAtMs ? { ...state, minComputedAtMs: asOf } : state;
  }

  #cover(windowStartMs: number, asOf: number, result: RecomputeResult): void {
    const previous = this.#covered.get(windowStartMs);
    if (!previous || previous.asOf < asOf) this.#covered.set(windowStartMs, { asOf, result });
    if (this.#covered.size > 10_000) {
      for (const key of [...this.#covered.keys()].sort((a, b) => a - b).slice(0, 5_000)) this.#covered.delete(key);
    }
  }

  async #finalCounts(windowStart: string): Promise<FinalCounts | undefined> {
    const doc = await this.o.es.get<{ counts: FinalCounts }>({ index: this.o.finalsIndex, id: windowStart }, { ignore: [404] });
    return doc.found ? doc._source!.counts : undefined;
  }

  /** First finalization wins: whoever creates the record first fixes the final counts. */
  async #recordFinal(windowStart: string, cells: ReturnType<typeof cellsOf>): Promise<FinalCounts> {
    const counts = finalCountsOf(cells);
    try {
      await this.o.es.index({
        index: this.o.finalsIndex,
        id: windowStart,
        op_type: 'create',
        document: { window_start: windowStart, finalized_at: new Date(this.o.now()).toISOString(), counts },
      });
      this.o.metrics.windowsFinalized.inc();
      return counts;
    } catch (error) {
      if (error instanceof errors.ResponseError && error.statusCode === 409) {
        const existing = await this.#finalCounts(windowStart);
        if (existing) return existing;
      }
      throw error;
    }
  }

  /**
   * Refreshes `events` so that everything indexed before `requestedAt` is searchable.
   * Refreshes are shared: a refresh that started at or after `requestedAt` serves every
   * caller, and new ones start at most every refreshMinIntervalMs. Returns the start time.
   */
  async #refreshedAfter(requestedAt: number): Promise<number> {
    for (;;) {
      const current = this.#refresh;
      if (current && current.startedAt >= requestedAt) {
        await current.done;
        return current.startedAt;
      }
      if (current) {
        await current.done.catch(() => undefined);
        const wait = current.startedAt + this.o.refreshMinIntervalMs - this.o.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        if (this.#refresh !== current) continue;
      }
      const startedAt = this.o.now();
      const done = this.o.es.indices.refresh({ index: this.o.eventsIndex }).then(() => undefined);
      this.#refresh = { startedAt, done };
      done.catch(() => {
        if (this.#refresh?.done === done) this.#refresh = undefined;
      });
      await done;
      return startedAt;
    }
  }

  async #latestEventTime(): Promise<number | undefined> {
    const response = await this.o.es.search<{ timestamp: string }>({
      index: this.o.eventsIndex,
      size: 1,
      sort: [{ timestamp: { order: 'desc' } }],
      _source: ['timestamp'],
      track_total_hits: false,
    });
    const hit = response.hits.hits[0]?._source;
    return hit ? Date.parse(hit.timestamp) : undefined;
  }

  /**
   * True while an upstream consumer group still has to deliver events older than
   * `candidateMs`: a backlog or a cold start is not lateness. (Any lag at all would hold the
   * watermark for ever on a live stream: dispatchers commit only every 5 s.) Cached briefly.
   */
  #upstreamBehind(candidateMs: number): Promise<boolean> {
    const { admin, upstream } = this.o;
    if (!admin || upstream.length === 0) return Promise.resolve(false);
    const now = this.o.now();
    if (this.#lag && now - this.#lag.at < this.o.lagCacheMs && this.#lag.candidateMs >= candidateMs) return this.#lag.behind;
    const behind = admin
      .connect()
      .then(() => Promise.all(upstream.map(({ group, topic }) => readBacklogBefore(admin, group, topic, candidateMs))))
      .then(
        (backlogs) => backlogs.some((b) => b > 0),
        // Kafka unreachable: hold the watermark rather than finalize windows on a guess.
        () => true,
      );
    this.#lag = { at: now, candidateMs, behind };
    return behind;
  }

  /** Offers a new watermark candidate, checked against the upstream backlog only when it would advance. */
  async #advanceWatermark(candidateMs: number | undefined): Promise<number | undefined> {
    const current = this.watermark.value;
    if (candidateMs === undefined || (current !== undefined && candidateMs <= current)) return current;
    return this.watermark.advance(candidateMs, await this.#upstreamBehind(candidateMs));
  }

  async #windowStates(sinceMs: number): Promise<WindowState[]> {
    const range = { range: { window_start: { gte: new Date(sinceMs).toISOString() } } };
    const [events, aggregates] = await Promise.all([
      this.o.es.search({
        index: this.o.eventsIndex,
        size: 0,
        query: range,
        aggs: { w: { terms: { field: 'window_start', size: 10_000 }, aggs: { max_indexed_at: { max: { field: 'indexed_at' } } } } },
      }),
      this.o.es.search({
        index: this.o.aggregatesIndex,
        size: 0,
        query: range,
        aggs: {
          w: {
            terms: { field: 'window_start', size: 10_000 },
            aggs: { min_computed_at: { min: { field: 'computed_at' } }, open: { filter: { term: { status: 'open' } } } },
          },
        },
      }),
    ]);
    type Bucket = { key: number; max_indexed_at?: { value: number | null }; min_computed_at?: { value: number | null }; open?: { doc_count: number } };
    const bucketsOf = (r: typeof events) => (r.aggregations?.['w'] as { buckets: Bucket[] } | undefined)?.buckets ?? [];
    const computed = new Map(bucketsOf(aggregates).map((b) => [b.key, b]));
    return bucketsOf(events).map((b) => {
      const agg = computed.get(b.key);
      return {
        windowStartMs: b.key,
        maxIndexedAtMs: b.max_indexed_at?.value ?? 0,
        minComputedAtMs: agg?.min_computed_at?.value ?? undefined,
        anyOpen: agg ? (agg.open?.doc_count ?? 0) > 0 : undefined,
      };
    });
  }

  #countLate(docs: AggregateDoc[]): void {
    for (const doc of docs) {
      const key = `${doc.window_start}|${cellKey(doc.event_type, doc.region)}`;
      const seen = this.#lateSeen.get(key) ?? 0;
      if (doc.late_events > seen) {
        this.o.metrics.lateEvents.inc(doc.late_events - seen);
        this.#lateSeen.set(key, doc.late_events);
      }
    }
    // Bound memory: keep cells of the last day of windows only.
    const horizon = this.o.now() - 24 * 60 * 60 * 1000;
    for (const key of this.#lateSeen.keys()) {
      if (windowEndOf(Date.parse(key.slice(0, 24))) < horizon) this.#lateSeen.delete(key);
    }
  }
}

/**
 * Writes aggregate documents with external versions that only grow, so a stale
 * recomputation never overwrites a newer one: a version conflict means a newer result is
 * already stored, and counts as success.
 */
export async function writeAggregates(es: Client, index: string, docs: AggregateDoc[]): Promise<void> {
  const response = await es.bulk({
    operations: docs.flatMap((doc) => [
      { index: { _index: index, _id: aggregateDocId(doc), version: aggregateVersion(doc.count, doc.status === 'final'), version_type: 'external' as const } },
      doc,
    ]),
  });
  const failed = response.items.map((i) => i.index!).filter((r) => r.status >= 300 && r.status !== 409);
  const first = failed[0];
  if (first) {
    const reason = `${first.error?.type ?? first.status}: ${first.error?.reason ?? ''}`;
    if (first.status === 429 || first.status >= 500) throw downstreamUnavailable('Elasticsearch refused the aggregate write', reason);
    throw new Error(`aggregate write failed: ${reason}`);
  }
}

function isoOrNull(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}
