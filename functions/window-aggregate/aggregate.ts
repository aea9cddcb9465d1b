/**
 * Window aggregation, pure parts: the aggregation query, turning its answer into one
 * document per (window, event_type, region), and the finalize tick's choice of windows to
 * recompute. No I/O here.
 */
import type { estypes } from '@elastic/elasticsearch';
import { isRetryableStatus } from '../../shared/elasticsearch.ts';
import { downstreamUnavailable } from '../../shared/errors.ts';
import { EVENT_TYPES, REGIONS } from '../../shared/schemas.ts';
import { aggregateId, isWindowFinal, windowEndOf } from '../../shared/window.ts';

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

/**
 * User ids are 1000–9999, so a `terms` aggregation of this size lists every distinct user
 * of a cell and `unique_users` is exact. (The `cardinality` aggregation is HyperLogLog++:
 * even below its precision threshold its 32-bit hashes collide now and then.)
 */
export const MAX_DISTINCT_USERS = 10_000;

/** Every (event_type, region) cell a window can have. */
export const CELLS = EVENT_TYPES.flatMap((eventType) => REGIONS.map((region) => ({ event_type: eventType, region })));

/**
 * One `_msearch` computes every cell of a window from the deduplicated `events` index: one
 * search per possible cell, so no search holds more than MAX_DISTINCT_USERS buckets. The
 * user buckets are counted by `stats_bucket` inside Elasticsearch and left out of the answer
 * (RESPONSE_FILTER), so the response stays small.
 */
export function windowCellSearches(index: string, windowStartIso: string, header: estypes.MsearchMultisearchHeader = {}): estypes.MsearchRequestItem[] {
  return CELLS.flatMap(({ event_type, region }) => [
    { index, ...header },
    {
      size: 0,
      track_total_hits: true,
      query: { bool: { filter: [{ term: { window_start: windowStartIso } }, { term: { event_type } }, { term: { region } }] } },
      aggs: {
        revenue_cents: { sum: { field: 'revenue_cents' } },
        quantity: { sum: { field: 'quantity' } },
        price_cents: { sum: { field: 'price_cents' } },
        max_indexed_at: { max: { field: 'indexed_at' } },
        users: { terms: { field: 'user_id', size: MAX_DISTINCT_USERS } },
        unique_users: { stats_bucket: { buckets_path: 'users>_count' } },
      },
    },
  ]);
}

export const RESPONSE_FILTER = [
  'responses.status',
  'responses.error',
  'responses.hits.total.value',
  'responses.aggregations.revenue_cents.value',
  'responses.aggregations.quantity.value',
  'responses.aggregations.price_cents.value',
  'responses.aggregations.max_indexed_at.value',
  'responses.aggregations.users.sum_other_doc_count',
  'responses.aggregations.unique_users.count',
];

export interface CellResponse {
  status?: number;
  error?: { type?: string; reason?: string };
  hits?: { total?: { value: number } };
  aggregations?: {
    revenue_cents: { value: number };
    quantity: { value: number };
    price_cents: { value: number };
    max_indexed_at: { value: number | null };
    users: { sum_other_doc_count?: number };
    unique_users: { count: number };
  };
}

/** Cells of a window with at least one event, in CELLS order. */
export function cellsOf(responses: CellResponse[]): Cell[] {
  const cells: Cell[] = [];
  responses.forEach((r, i) => {
    if (r.error) {
      const reason = `${r.error.type ?? ''} ${r.error.reason ?? ''}`.trim();
      if (r.status !== undefined && isRetryableStatus(r.status)) throw downstreamUnavailable('Elasticsearch could not run the window aggregation', reason);
      throw new Error(`window aggregation failed: ${reason}`);
    }
    const count = r.hits?.total?.value ?? 0;
    const a = r.aggregations;
    if (count === 0 || !a) return;
    if ((a.users.sum_other_doc_count ?? 0) > 0) throw new Error(`more than ${MAX_DISTINCT_USERS} distinct users in one cell`);
    cells.push({
      ...CELLS[i]!,
      count,
      revenue_cents: Math.round(a.revenue_cents.value),
      quantity: Math.round(a.quantity.value),
      price_cents_sum: Math.round(a.price_cents.value),
      unique_users: a.unique_users.count,
      max_indexed_at: a.max_indexed_at.value,
    });
  });
  return cells;
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
      return s.anyOpen === true && isWindowFinal(s.windowStartMs, watermarkMs);
    })
    .map((s) => s.windowStartMs)
    .sort((a, b) => a - b);
}
