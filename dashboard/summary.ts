/**
 * What the dashboard shows, computed from the window aggregates (`events-aggregated`) by
 * one Elasticsearch search: totals, revenue per minute by region, the event-type mix, the
 * windows' states and the pipeline's freshness. Never from a sample of raw events: the
 * aggregates are exact, so the sums over them are too. Pure: the request, and the answer
 * turned into a Summary; the search itself happens in app.ts.
 */
import type { estypes } from '@elastic/elasticsearch';
import { WINDOW_MS, windowStartOf } from '../shared/window.ts';

/** Shown first and in this order (stable colours on the page), then any others by name. */
export const KNOWN_REGIONS = ['US', 'EU', 'ASIA', 'SA'] as const;
export const KNOWN_EVENT_TYPES = ['view', 'click', 'search', 'purchase'] as const;

export const MAX_MINUTES = 24 * 60;

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

export function summaryRequest(index: string, range: Range): estypes.SearchRequest {
  const sum = (field: string) => ({ sum: { field } });
  return {
    index,
    size: 0,
    track_total_hits: false,
    // Before `make dev` (or the setup job) has created the index, the page shows "no data".
    ignore_unavailable: true,
    allow_no_indices: true,
    query: { range: { window_start: { gte: new Date(range.fromMs).toISOString(), lt: new Date(range.toMs).toISOString() } } },
    aggs: {
      events: sum('count'),
      revenue_cents: sum('revenue_cents'),
      late_events: sum('late_events'),
      last_computed_at: { max: { field: 'computed_at' } },
      by_type: {
        terms: { field: 'event_type', size: 50 },
        aggs: { events: sum('count'), revenue_cents: sum('revenue_cents') },
      },
      per_minute: {
        date_histogram: { field: 'window_start', fixed_interval: '1m', min_doc_count: 1 },
        aggs: {
          open: { filter: { term: { status: 'open' } } },
          by_region: { terms: { field: 'region', size: 50 }, aggs: { events: sum('count'), revenue_cents: sum('revenue_cents') } },
        },
      },
      // Freshness is about the whole pipeline, not the chosen range.
      everything: {
        global: {},
        aggs: { newest_window: { max: { field: 'window_start' } }, last_computed_at: { max: { field: 'computed_at' } } },
      },
    },
  };
}

export interface RegionSeries {
  region: string;
  /** Revenue in cents of each minute of `minutes`. */
  revenue_cents: number[];
  /** Events of each minute of `minutes`. */
  events: number[];
  total_revenue_cents: number;
}

export type HealthStatus = 'live' | 'stale' | 'no-data' | 'down';

export interface Health {
  status: HealthStatus;
  elasticsearch: 'ok' | 'unreachable';
  error?: string;
  newest_window_start: string | null;
  /** Seconds from the newest window's start to now. */
  newest_window_age_seconds: number | null;
  last_computed_at: string | null;
  /** Seconds since any aggregate was last recomputed. */
  freshness_seconds: number | null;
  stale_after_seconds: number;
}

export interface Summary {
  generated_at: string;
  range: { minutes: number; from: string; to: string };
  totals: { events: number; revenue_cents: number; purchases: number; late_events: number };
  windows: { open: number; final: number; last_computed_at: string | null };
  revenue_per_minute: { minutes: string[]; regions: RegionSeries[] };
  event_types: { event_type: string; events: number; revenue_cents: number }[];
  health: Health;
}

interface Value {
  value: number | null;
}
interface SumBuckets {
  events: Value;
  revenue_cents: Value;
}
interface Aggregations {
  events?: Value;
  revenue_cents?: Value;
  late_events?: Value;
  last_computed_at?: Value;
  by_type?: { buckets: ({ key: string } & SumBuckets)[] };
  per_minute?: { buckets: { key: number; open: { doc_count: number }; by_region: { buckets: ({ key: string } & SumBuckets)[] } }[] };
  everything?: { newest_window: Value; last_computed_at: Value };
}

/** Sums of longs come back as doubles; they are exact integers well below 2^53. */
const int = (v: Value | undefined): number => Math.round(v?.value ?? 0);
const time = (v: Value | undefined): number | null => (v?.value === null || v?.value === undefined ? null : v.value);

/** Known names first in their fixed order, then the others alphabetically. */
export function orderedNames(known: readonly string[], found: Iterable<string>): string[] {
  const extra = [...new Set(found)].filter((n) => !known.includes(n)).sort();
  return [...known, ...extra];
}

export function summaryOf(response: Pick<estypes.SearchResponse, 'aggregations'>, range: Range, nowMs: number, staleAfterSeconds: number): Summary {
  const aggs = (response.aggregations ?? {}) as Aggregations;
  const minutes = Array.from({ length: range.minutes }, (_, i) => range.fromMs + i * WINDOW_MS);
  const slot = new Map(minutes.map((m, i) => [m, i]));

  const perMinute = aggs.per_minute?.buckets ?? [];
  const regionNames = orderedNames(KNOWN_REGIONS, perMinute.flatMap((b) => b.by_region.buckets.map((r) => r.key)));
  const regions = new Map<string, RegionSeries>(
    regionNames.map((region) => [region, { region, revenue_cents: minutes.map(() => 0), events: minutes.map(() => 0), total_revenue_cents: 0 }]),
  );
  let open = 0;
  let final = 0;
  for (const bucket of perMinute) {
    if (bucket.open.doc_count > 0) open++;
    else final++;
    const i = slot.get(bucket.key);
    if (i === undefined) continue;
    for (const r of bucket.by_region.buckets) {
      const series = regions.get(r.key)!;
      series.revenue_cents[i] = int(r.revenue_cents);
      series.events[i] = int(r.events);
      series.total_revenue_cents += int(r.revenue_cents);
    }
  }

  const byType = new Map((aggs.by_type?.buckets ?? []).map((b) => [b.key, b]));
  const eventTypes = orderedNames(KNOWN_EVENT_TYPES, byType.keys()).map((eventType) => {
    const b = byType.get(eventType);
    return { event_type: eventType, events: int(b?.events), revenue_cents: int(b?.revenue_cents) };
  });

  const newest = time(aggs.everything?.newest_window);
  const computed = time(aggs.everything?.last_computed_at);
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  const ageSeconds = (ms: number | null) => (ms === null ? null : Math.max(0, Math.round((nowMs - ms) / 1000)));
  const health: Health = {
    status: healthStatus(ageSeconds(newest), ageSeconds(computed), staleAfterSeconds),
    elasticsearch: 'ok',
    newest_window_start: iso(newest),
    newest_window_age_seconds: ageSeconds(newest),
    last_computed_at: iso(computed),
    freshness_seconds: ageSeconds(computed),
    stale_after_seconds: staleAfterSeconds,
  };

  return {
    generated_at: new Date(nowMs).toISOString(),
    range: { minutes: range.minutes, from: new Date(range.fromMs).toISOString(), to: new Date(range.toMs).toISOString() },
    totals: {
      events: int(aggs.events),
      revenue_cents: int(aggs.revenue_cents),
      purchases: eventTypes.find((t) => t.event_type === 'purchase')?.events ?? 0,
      late_events: int(aggs.late_events),
    },
    windows: { open, final, last_computed_at: iso(time(aggs.last_computed_at)) },
    revenue_per_minute: { minutes: minutes.map((m) => new Date(m).toISOString()), regions: [...regions.values()] },
    event_types: eventTypes,
    health,
  };
}

/**
 * Live while the newest window is recent and aggregates are still being recomputed; stale
 * when either stopped (no events coming in, or window-aggregate not running).
 */
export function healthStatus(newestWindowAgeSeconds: number | null, freshnessSeconds: number | null, staleAfterSeconds: number): HealthStatus {
  if (newestWindowAgeSeconds === null || freshnessSeconds === null) return 'no-data';
  return newestWindowAgeSeconds > staleAfterSeconds || freshnessSeconds > staleAfterSeconds ? 'stale' : 'live';
}

/** The answer when Elasticsearch cannot be reached: health only. */
export function unreachableHealth(error: string, staleAfterSeconds: number): Health {
  return {
    status: 'down',
    elasticsearch: 'unreachable',
    error,
    newest_window_start: null,
    newest_window_age_seconds: null,
    last_computed_at: null,
    freshness_seconds: null,
    stale_after_seconds: staleAfterSeconds,
  };
}
