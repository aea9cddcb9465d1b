/**
 * The two searches behind one summary: the window aggregates (`events-aggregated`: exact
 * totals, per-minute series, window states, freshness) and the events themselves (`events`:
 * top categories and brands, which the aggregates do not carry — one document per window,
 * event type and region). Both over the same windows and filters; pure request builders.
 */
import type { estypes } from '@elastic/elasticsearch';
import { WINDOW_MS, windowStartOf } from '../shared/window.ts';
import { type Filters, termFilters } from './filters.ts';

export interface Range {
  minutes: number;
  /** First window start in range (inclusive). */
  fromMs: number;
  /** End of the current window (exclusive). */
  toMs: number;
}

/** The last `minutes` windows, the current (still open) one included. */
export function rangeOf(minutes: number, nowMs: number): Range {
  const toMs = windowStartOf(nowMs) + WINDOW_MS;
  return { minutes, fromMs: toMs - minutes * WINDOW_MS, toMs };
}

/** Whatever a store holds (a fuzzed brand, a region of tomorrow), a keyword has at most this many values shown. */
const MAX_TERMS = 100;

const sum = (field: string) => ({ sum: { field } });

function filtered(range: Range, filters: Filters): estypes.QueryDslQueryContainer {
  const window = { range: { window_start: { gte: new Date(range.fromMs).toISOString(), lt: new Date(range.toMs).toISOString() } } };
  return { bool: { filter: [window, ...termFilters(filters)] } };
}

/** Before the index exists (a fresh platform; the `events` alias until the first daily index), the answer is empty, not an error. */
const tolerant = { size: 0, track_total_hits: false, ignore_unavailable: true, allow_no_indices: true } as const;

export function aggregatesRequest(index: string, range: Range, filters: Filters): estypes.SearchRequest {
  const counts = { events: sum('count'), revenue_cents: sum('revenue_cents') };
  return {
    index,
    ...tolerant,
    query: filtered(range, filters),
    aggs: {
      ...counts,
      late_events: sum('late_events'),
      last_computed_at: { max: { field: 'computed_at' } },
      by_type: { terms: { field: 'event_type', size: MAX_TERMS }, aggs: counts },
      per_minute: {
        date_histogram: { field: 'window_start', fixed_interval: '1m', min_doc_count: 1 },
        aggs: {
          open: { filter: { term: { status: 'open' } } },
          late_events: sum('late_events'),
          by_region: { terms: { field: 'region', size: MAX_TERMS }, aggs: counts },
          by_type: { terms: { field: 'event_type', size: MAX_TERMS }, aggs: { events: sum('count') } },
        },
      },
      // Freshness is about the whole pipeline, not the chosen view.
      everything: {
        global: {},
        aggs: { newest_window: { max: { field: 'window_start' } }, last_computed_at: { max: { field: 'computed_at' } } },
      },
    },
  };
}

/**
 * Categories and brands of the events in the same windows. A `terms` aggregation whose size
 * exceeds the field's distinct values counts exactly (the catalog has 10 categories and 12
 * brands), so these numbers agree with the aggregates'.
 */
export function productsRequest(index: string, range: Range, filters: Filters): estypes.SearchRequest {
  const revenue = { revenue_cents: sum('revenue_cents') };
  return {
    index,
    ...tolerant,
    query: filtered(range, filters),
    aggs: {
      categories: {
        terms: { field: 'category', size: MAX_TERMS },
        aggs: { ...revenue, purchases: { filter: { term: { event_type: 'purchase' } } } },
      },
      brands: { terms: { field: 'brand', size: MAX_TERMS }, aggs: revenue },
    },
  };
}
