/**
 * Window aggregation, pure parts: the aggregation query, turning its answer into one
 * document per (window, event_type, region), the watermark and the finalize tick's
 * choice of windows to recompute. No I/O here (DESIGN §5–6).
 */
import type { estypes } from '@elastic/elasticsearch';
import { aggregateId, windowEndOf } from '../../shared/window.ts';

/** Highest precision of the cardinality aggregation: exact in practice below ~40k distinct users. */
export const CARDINALITY_PRECISION = 40_000;

export interface Cell {
  event_type: string;
  region: string;
  count: number;
  revenue_cents: number;
  quantity: number;
  price_cents_sum: number;
  unique_users: number;
  max_indexed_at: number | null;
}

export interface AggregateDoc {
  window_start: string;
  window_end: string;
  event_type: string;
  region: string;
  count: number;
  revenue_cents: number;
  revenue: number;
  quantity: number;
  price_cents_sum: number;
  avg_price: number;
  unique_users: number;
  status: 'open' | 'final';
  final_count: number | null;
  late_events: number;
  computed_at: string;
  max_indexed_at: string | null;
}

/** One query computes every cell of a window from the deduplicated `events` index. */
export function windowAggregationRequest(index: string, windowStartIso: string): estypes.SearchRequest {
  return {
    index,
    size: 0,
    track_total_hits: false,
    query: { term: { window_start: windowStartIso } },
    aggs: {
      cells: {
        composite: {
          size: 100,
          sources: [{ event_type: { terms: { field: 'event_type' } } }, { region: { terms: { field: 'region' } } }],
        },
        aggs: {
          revenue_cents: { sum: { field: 'revenue_cents' } },
          quantity: { sum: { field: 'quantity' } },
          price_cents: { sum: { field: 'price_cents' } },
          unique_users: { cardinality: { field: 'user_id', precision_threshold: CARDINALITY_PRECISION } },
          max_indexed_at: { max: { field: 'indexed_at' } },
        },
      },
    },
  };
}

interface CellBucket {
  key: { event_type: string; region: string };
  doc_count: number;
  revenue_cents: { value: number };
  quantity: { value: number };
  price_cents: { value: number };
  unique_users: { value: number };
  max_indexed_at: { value: number | null };
}

export function cellsOf(response: estypes.SearchResponse): Cell[] {
  const buckets = (response.aggregations?.['cells'] as { buckets?: CellBucket[] } | undefined)?.buckets ?? [];
  return buckets.map((b) => ({
    event_type: b.key.event_type,
    region: b.key.region,
    count: b.doc_count,
    revenue_cents: Math.round(b.revenue_cents.value),
    quantity: Math.round(b.quantity.value),
    price_cents_sum: Math.round(b.price_cents.value),
    unique_users: b.unique_users.value,
    max_indexed_at: b.max_indexed_at.value,
  }));
}

export function cellKey(eventType: string, region: string): string {
  return `${eventType}|${region}`;
}

/** Counts recorded when the window first became final, by cell. */
export type FinalCounts = Record<string, number>;

export function finalCountsOf(cells: Cell[]): FinalCounts {
  return Object.fromEntries(cells.map((c) => [cellKey(c.event_type, c.region), c.count]));
}

/**
 * Aggregate documents of one window. With `finals` the window is final: `final_count` is
 * what was recorded at its first finalization (0 for a cell that had no events then) and
 * `late_events` is everything that arrived after.
 */
export function aggregateDocs(windowStartMs: number, cells: Cell[], finals: FinalCounts | undefined, computedAtMs: number): AggregateDoc[] {
  const windowStart = new Date(windowStartMs).toISOString();
  const windowEnd = new Date(windowEndOf(windowStartMs)).toISOString();
  return cells.map((c) => {
    const finalCount = finals ? (finals[cellKey(c.event_type, c.region)] ?? 0) : null;
    return {
      window_start: windowStart,
      window_end: windowEnd,
      event_type: c.event_type,
      region: c.region,
      count: c.count,
      revenue_cents: c.revenue_cents,
      revenue: c.revenue_cents / 100,
      quantity: c.quantity,
      price_cents_sum: c.price_cents_sum,
      avg_price: c.count === 0 ? 0 : c.price_cents_sum / c.count / 100,
      unique_users: c.unique_users,
      status: finals ? 'final' : 'open',
      final_count: finalCount,
      late_events: finalCount === null ? 0 : Math.max(0, c.count - finalCount),
      computed_at: new Date(computedAtMs).toISOString(),
      max_indexed_at: c.max_indexed_at === null ? null : new Date(c.max_indexed_at).toISOString(),
    };
  });
}

export function aggregateDocId(doc: Pick<AggregateDoc, 'window_start' | 'event_type' | 'region'>): string {
  return aggregateId(doc.window_start, doc.event_type, doc.region);
}

/**
 * The watermark only moves forward, and not at all while upstream consumer groups have
 * lag: a backlog or a cold start is not lateness.
 */
export class Watermark {
  #value: number | undefined;

  get value(): number | undefined {
    return this.#value;
  }

  /** Offers a new candidate; ignored while `held` or when it would move backwards. */
  advance(candidateMs: number | undefined, held: boolean): number | undefined {
    if (!held && candidateMs !== undefined && (this.#value === undefined || candidateMs > this.#value)) this.#value = candidateMs;
    return this.#value;
  }
}

export interface WindowState {
  windowStartMs: number;
  /** Newest indexed_at of the window's events. */
  maxIndexedAtMs: number;
  /** Oldest computed_at among its aggregate documents, if any. */
  minComputedAtMs?: number | undefined;
  /** Whether any of its aggregate documents is still open. */
  anyOpen?: boolean | undefined;
}

/**
 * Windows the finalize tick recomputes: never aggregated, changed since their aggregate
 * was computed (a lost notice), or due to become final.
 */
export function windowsToRecompute(states: WindowState[], watermarkMs: number | undefined): number[] {
  return states
    .filter((s) => {
      if (s.minComputedAtMs === undefined) return true;
      if (s.maxIndexedAtMs > s.minComputedAtMs) return true;
      return s.anyOpen === true && watermarkMs !== undefined && windowEndOf(s.windowStartMs) <= watermarkMs;
    })
    .map((s) => s.windowStartMs)
    .sort((a, b) => a - b);
}
