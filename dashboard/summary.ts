/**
 * What the dashboard shows, from the answers of the two searches in summary-request.ts:
 * totals, per-minute series, the event-type mix, top categories and brands, the windows'
 * states and the pipeline's freshness. Never from a sample of raw events: the aggregates
 * are exact, so the sums over them are too. Pure; the searches happen in app.ts.
 */
import type { estypes } from '@elastic/elasticsearch';
import { EVENT_TYPES, REGIONS } from '../shared/schemas.ts';
import { WINDOW_MS } from '../shared/window.ts';
import type { Filters } from './filters.ts';
import type { Range } from './summary-request.ts';

/** Shown first and in this order (stable colours on the page), then any others by name. */
export const KNOWN_REGIONS: readonly string[] = REGIONS;
export const KNOWN_EVENT_TYPES: readonly string[] = ['view', 'click', 'search', 'purchase'] satisfies readonly (typeof EVENT_TYPES)[number][];

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

export interface ProductRow {
  name: string;
  events: number;
  revenue_cents: number;
}

export interface Summary {
  generated_at: string;
  range: { minutes: number; from: string; to: string };
  filters: { region: string | null; event_type: string | null };
  totals: {
    events: number;
    revenue_cents: number;
    purchases: number;
    views: number;
    /** Purchases per view; null without views (nothing to convert). */
    conversion_rate: number | null;
    late_events: number;
  };
  windows: { open: number; final: number; last_computed_at: string | null };
  per_minute: {
    minutes: string[];
    revenue_by_region: RegionSeries[];
    events_by_type: { event_type: string; events: number[] }[];
    late_events: number[];
  };
  event_types: { event_type: string; events: number; revenue_cents: number }[];
  /** Most revenue first, then most events. */
  top_categories: (ProductRow & { purchases: number })[];
  top_brands: ProductRow[];
  health: Health;
}

interface Value {
  value: number | null;
}
interface Counts {
  events: Value;
  revenue_cents: Value;
}
type Buckets<T> = { buckets: ({ key: string; doc_count: number } & T)[] };
interface AggregateAggs {
  events?: Value;
  revenue_cents?: Value;
  late_events?: Value;
  last_computed_at?: Value;
  by_type?: Buckets<Counts>;
  per_minute?: { buckets: { key: number; open: { doc_count: number }; late_events: Value; by_region: Buckets<Counts>; by_type: Buckets<{ events: Value }> }[] };
  everything?: { newest_window: Value; last_computed_at: Value };
}
interface ProductAggs {
  categories?: Buckets<{ revenue_cents: Value; purchases: { doc_count: number } }>;
  brands?: Buckets<{ revenue_cents: Value }>;
}
type Answer = Pick<estypes.SearchResponse, 'aggregations'>;

/** Sums of longs come back as doubles; they are exact integers well below 2^53. */
const int = (v: Value | undefined): number => Math.round(v?.value ?? 0);
const time = (v: Value | undefined): number | null => (v?.value === null || v?.value === undefined ? null : v.value);
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** Known names first in their fixed order, then the others alphabetically. */
export function orderedNames(known: readonly string[], found: Iterable<string>): string[] {
  const extra = [...new Set(found)].filter((n) => !known.includes(n)).sort();
  return [...known, ...extra];
}

const byRevenue = <T extends ProductRow>(a: T, b: T) => b.revenue_cents - a.revenue_cents || b.events - a.events || (a.name < b.name ? -1 : 1);

export function summaryOf(aggregates: Answer, products: Answer, range: Range, filters: Filters, nowMs: number, staleAfterSeconds: number): Summary {
  const aggs = (aggregates.aggregations ?? {}) as AggregateAggs;
  const minutes = Array.from({ length: range.minutes }, (_, i) => range.fromMs + i * WINDOW_MS);
  const slot = new Map(minutes.map((m, i) => [m, i]));
  const zeros = () => minutes.map(() => 0);

  const perMinute = aggs.per_minute?.buckets ?? [];
  // A filter to one region shows that region only; otherwise every known region, with or without data.
  const regionNames = filters.region ? [filters.region] : orderedNames(KNOWN_REGIONS, perMinute.flatMap((b) => b.by_region.buckets.map((r) => r.key)));
  const regions = new Map<string, RegionSeries>(regionNames.map((region) => [region, { region, revenue_cents: zeros(), events: zeros(), total_revenue_cents: 0 }]));
  const typeNames = filters.event_type ? [filters.event_type] : orderedNames(KNOWN_EVENT_TYPES, perMinute.flatMap((b) => b.by_type.buckets.map((t) => t.key)));
  const types = new Map(typeNames.map((eventType) => [eventType, zeros()]));
  const late = zeros();
  let open = 0;
  let final = 0;
  for (const bucket of perMinute) {
    if (bucket.open.doc_count > 0) open++;
    else final++;
    const i = slot.get(bucket.key);
    if (i === undefined) continue;
    late[i] = int(bucket.late_events);
    for (const r of bucket.by_region.buckets) {
      const series = regions.get(r.key);
      if (!series) continue;
      series.revenue_cents[i] = int(r.revenue_cents);
      series.events[i] = int(r.events);
      series.total_revenue_cents += int(r.revenue_cents);
    }
    for (const t of bucket.by_type.buckets) {
      const series = types.get(t.key);
      if (series) series[i] = int(t.events);
    }
  }

  const byType = new Map((aggs.by_type?.buckets ?? []).map((b) => [b.key, b]));
  const eventTypes = typeNames.map((eventType) => {
    const b = byType.get(eventType);
    return { event_type: eventType, events: int(b?.events), revenue_cents: int(b?.revenue_cents) };
  });
  const countOf = (eventType: string) => int(byType.get(eventType)?.events);
  const purchases = countOf('purchase');
  const views = countOf('view');

  const productAggs = (products.aggregations ?? {}) as ProductAggs;
  const topCategories = (productAggs.categories?.buckets ?? [])
    .map((b) => ({ name: b.key, events: b.doc_count, purchases: b.purchases.doc_count, revenue_cents: int(b.revenue_cents) }))
    .sort(byRevenue);
  const topBrands = (productAggs.brands?.buckets ?? []).map((b) => ({ name: b.key, events: b.doc_count, revenue_cents: int(b.revenue_cents) })).sort(byRevenue);

  const newest = time(aggs.everything?.newest_window);
  const computed = time(aggs.everything?.last_computed_at);
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
    filters: { region: filters.region ?? null, event_type: filters.event_type ?? null },
    totals: {
      events: int(aggs.events),
      revenue_cents: int(aggs.revenue_cents),
      purchases,
      views,
      conversion_rate: views > 0 ? purchases / views : null,
      late_events: int(aggs.late_events),
    },
    windows: { open, final, last_computed_at: iso(time(aggs.last_computed_at)) },
    per_minute: {
      minutes: minutes.map((m) => new Date(m).toISOString()),
      revenue_by_region: [...regions.values()],
      events_by_type: [...types].map(([eventType, events]) => ({ event_type: eventType, events })),
      late_events: late,
    },
    event_types: eventTypes,
    top_categories: topCategories,
    top_brands: topBrands,
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
