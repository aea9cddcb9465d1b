/**
 * Every read and write of window-aggregate, behind one small interface, and its
 * Elasticsearch implementation. Exactness rests on the writes: deterministic ids, external
 * versions that only grow (a version conflict means a newer result is already there), and
 * final counts recorded once with op_type=create (first write wins). No read-modify-write.
 */
import { errors, type Client } from '@elastic/elasticsearch';
import { eventsIndexOf, isRetryableStatus } from '../../shared/elasticsearch.ts';
import { downstreamUnavailable } from '../../shared/errors.ts';
import { aggregateVersion } from '../../shared/window.ts';
import {
  aggregateDocId,
  cellsOf,
  RESPONSE_FILTER,
  windowCellSearches,
  type AggregateDoc,
  type Cell,
  type CellResponse,
  type FinalCounts,
  type WindowState,
} from './aggregate.ts';

/** The record of a window's first finalization. */
export interface FinalRecord {
  window_start: string;
  finalized_at: string;
  counts: FinalCounts;
}

export interface WindowStore {
  /** Newest searchable event time in `events`. */
  latestEventTime(): Promise<number | undefined>;
  /**
   * Makes everything indexed so far into the events of this window's UTC day searchable (a
   * window never spans two days); into all of `events` without a window.
   */
  refreshEvents(windowStartIso?: string): Promise<void>;
  /** The window's cells with at least one event, in CELLS order. */
  cells(windowStartIso: string): Promise<Cell[]>;
  finalCounts(windowStartIso: string): Promise<FinalCounts | undefined>;
  /** Records final counts unless the window has some: the first record wins, and is returned. */
  createFinal(record: FinalRecord): Promise<{ created: boolean; counts: FinalCounts }>;
  /** Writes with external versions; a document already at that version or newer is left as it is. */
  writeAggregates(docs: AggregateDoc[]): Promise<void>;
  /** Windows starting at or after `sinceMs` that have events, with what their aggregates say. */
  windowStates(sinceMs: number): Promise<WindowState[]>;
}

export interface StoreIndices {
  /** The alias over the daily events indices. */
  events: string;
  aggregates: string;
  finals: string;
}

/**
 * Reads of one window go to the daily index that holds it, not through the alias: one shard
 * to search and to refresh. A day with no index (none of its events indexed yet, or deleted
 * by retention) holds no events; so does the alias before the first daily index exists.
 */
export function elasticsearchStore(es: Client, indices: StoreIndices): WindowStore {
  const dailyIndexOf = (windowStartIso: string) => eventsIndexOf(indices.events, Date.parse(windowStartIso));
  const missingIsEmpty = { ignore_unavailable: true, allow_no_indices: true } as const;
  const finalCounts = async (windowStartIso: string) => {
    const doc = await es.get<{ counts: FinalCounts }>({ index: indices.finals, id: windowStartIso }, { ignore: [404] });
    return doc.found ? doc._source!.counts : undefined;
  };

  return {
    async latestEventTime() {
      const response = await es.search<{ timestamp: string }>({
        index: indices.events,
        ...missingIsEmpty,
        size: 1,
        sort: [{ timestamp: { order: 'desc' } }],
        _source: ['timestamp'],
        track_total_hits: false,
      });
      const hit = response.hits.hits[0]?._source;
      return hit ? Date.parse(hit.timestamp) : undefined;
    },

    async refreshEvents(windowStartIso) {
      await es.indices.refresh({ index: windowStartIso === undefined ? indices.events : dailyIndexOf(windowStartIso), ...missingIsEmpty });
    },

    async cells(windowStartIso) {
      const searches = windowCellSearches(dailyIndexOf(windowStartIso), windowStartIso, missingIsEmpty);
      const aggregation = await es.msearch({ searches, filter_path: RESPONSE_FILTER });
      return cellsOf(aggregation.responses as CellResponse[]);
    },

    finalCounts,

    async createFinal(record) {
      try {
        await es.index({ index: indices.finals, id: record.window_start, op_type: 'create', document: record });
        return { created: true, counts: record.counts };
      } catch (error) {
        if (error instanceof errors.ResponseError && error.statusCode === 409) {
          const existing = await finalCounts(record.window_start);
          if (existing) return { created: false, counts: existing };
        }
        throw error;
      }
    },

    writeAggregates: (docs) => writeAggregates(es, indices.aggregates, docs),

    async windowStates(sinceMs) {
      const range = { range: { window_start: { gte: new Date(sinceMs).toISOString() } } };
      const [events, aggregates] = await Promise.all([
        es.search({
          index: indices.events,
          ...missingIsEmpty,
          size: 0,
          query: range,
          aggs: { w: { terms: { field: 'window_start', size: 10_000 }, aggs: { max_indexed_at: { max: { field: 'indexed_at' } } } } },
        }),
        es.search({
          index: indices.aggregates,
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
    },
  };
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
    if (isRetryableStatus(first.status)) throw downstreamUnavailable('Elasticsearch refused the aggregate write', reason);
    throw new Error(`aggregate write failed: ${reason}`);
  }
}
