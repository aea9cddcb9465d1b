import { describe, expect, it } from 'vitest';
import {
  CELLS,
  MAX_DISTINCT_USERS,
  aggregateDocId,
  aggregateDocs,
  cellKey,
  cellsOf,
  finalCountsOf,
  windowCellSearches,
  windowsToRecompute,
  type Cell,
  type CellResponse,
} from './aggregate.ts';

const WINDOW = Date.parse('2024-05-01T12:34:00.000Z');
const WINDOW_ISO = '2024-05-01T12:34:00.000Z';
const INDEXED_AT = Date.parse('2024-05-01T12:35:01.250Z');
const COMPUTED_AT = Date.parse('2024-05-01T12:35:30.000Z');

/** One cell's filtered search answer, as Elasticsearch gives it: sums as floats, users counted. */
function answer(count: number, sums: { revenue: number; quantity: number; price: number }, maxIndexedAt: number | null, users: number): CellResponse {
  return {
    hits: { total: { value: count } },
    aggregations: {
      revenue_cents: { value: sums.revenue },
      quantity: { value: sums.quantity },
      price_cents: { value: sums.price },
      max_indexed_at: { value: maxIndexedAt },
      users: { sum_other_doc_count: 0 },
      unique_users: { count: users },
    },
  };
}

/** The filtered `_msearch` answer: one response per possible cell, in CELLS order. */
function responses(): CellResponse[] {
  const empty: CellResponse = { hits: { total: { value: 0 } } };
  const all: CellResponse[] = CELLS.map(() => empty);
  const at = (type: string, region: string) => CELLS.findIndex((c) => c.event_type === type && c.region === region);
  all[at('purchase', 'EU')] = answer(3, { revenue: 5997.000000001, quantity: 7, price: 5997 }, INDEXED_AT, 2);
  all[at('view', 'US')] = answer(4, { revenue: 0, quantity: 9, price: 10_000 }, null, 4);
  return all;
}

const purchaseEU: Cell = {
  event_type: 'purchase',
  region: 'EU',
  count: 3,
  revenue_cents: 5997,
  quantity: 7,
  price_cents_sum: 5997,
  unique_users: 2,
  max_indexed_at: INDEXED_AT,
};
const viewUS: Cell = {
  event_type: 'view',
  region: 'US',
  count: 4,
  revenue_cents: 0,
  quantity: 9,
  price_cents_sum: 10_000,
  unique_users: 4,
  max_indexed_at: null,
};

describe('windowCellSearches', () => {
  it('asks one search per possible cell of the window, with every user listed and counted in Elasticsearch', () => {
    const searches = windowCellSearches('events', WINDOW_ISO);
    expect(CELLS).toHaveLength(16);
    expect(searches).toHaveLength(32);
    expect(searches[0]).toEqual({ index: 'events' });
    const body = searches[1] as { query: unknown; aggs: Record<string, unknown> };
    expect(body.query).toEqual({ bool: { filter: [{ term: { window_start: WINDOW_ISO } }, { term: { event_type: CELLS[0]!.event_type } }, { term: { region: CELLS[0]!.region } }] } });
    expect(body.aggs['users']).toEqual({ terms: { field: 'user_id', size: MAX_DISTINCT_USERS } });
    expect(body.aggs['unique_users']).toEqual({ stats_bucket: { buckets_path: 'users>_count' } });
    // user_id is 1000–9999: at most 9000 distinct users, so the terms list is complete.
    expect(MAX_DISTINCT_USERS).toBeGreaterThanOrEqual(9000);
  });
});

describe('cellsOf', () => {
  it('keeps the cells with events, rounding the sums to integers', () => {
    expect(cellsOf(responses())).toEqual([purchaseEU, viewUS].sort((a, b) => CELLS.findIndex((c) => c.event_type === a.event_type && c.region === a.region) - CELLS.findIndex((c) => c.event_type === b.event_type && c.region === b.region)));
  });

  it('is empty for a window without events', () => {
    expect(cellsOf(CELLS.map(() => ({ hits: { total: { value: 0 } } })))).toEqual([]);
  });

  it('refuses an incomplete user list and a failed search', () => {
    const r = responses();
    const i = r.findIndex((x) => x.aggregations);
    r[i] = { ...r[i]!, aggregations: { ...r[i]!.aggregations!, users: { sum_other_doc_count: 1 } } };
    expect(() => cellsOf(r)).toThrow(/distinct users/);
    expect(() => cellsOf([{ error: { type: 'search_phase_execution_exception', reason: 'boom' } }])).toThrow(/boom/);
  });

  it('answers 503 for a search Elasticsearch could not run now, 500 for one it refused', () => {
    const thrown = (responses: CellResponse[]) => {
      try {
        cellsOf(responses);
      } catch (error) {
        return error as Error & { statusCode?: number };
      }
      throw new Error('cellsOf did not throw');
    };
    expect(thrown([{ status: 429, error: { type: 'es_rejected_execution_exception', reason: 'queue full' } }])).toMatchObject({ statusCode: 503 });
    const refused = thrown([{ status: 400, error: { type: 'parsing_exception', reason: 'bad query' } }]);
    expect(refused.message).toMatch(/bad query/);
    expect(refused.statusCode).toBeUndefined();
  });
});

describe('finalCountsOf', () => {
  it('records each cell count by its key', () => {
    expect(finalCountsOf([purchaseEU, viewUS])).toEqual({ 'purchase|EU': 3, 'view|US': 4 });
    expect(cellKey('purchase', 'EU')).toBe('purchase|EU');
  });
});

describe('aggregateDocs', () => {
  it('builds open documents without a final count', () => {
    const [doc] = aggregateDocs(WINDOW, [purchaseEU], undefined, COMPUTED_AT);
    expect(doc).toEqual({
      window_start: WINDOW_ISO,
      window_end: '2024-05-01T12:35:00.000Z',
      event_type: 'purchase',
      region: 'EU',
      count: 3,
      revenue_cents: 5997,
      revenue: 59.97,
      quantity: 7,
      price_cents_sum: 5997,
      avg_price: 19.99,
      unique_users: 2,
      status: 'open',
      final_count: null,
      late_events: 0,
      computed_at: '2024-05-01T12:35:30.000Z',
      max_indexed_at: '2024-05-01T12:35:01.250Z',
    });
  });

  it('builds final documents with the recorded final count and the late events since', () => {
    const docs = aggregateDocs(WINDOW, [purchaseEU, viewUS], { 'purchase|EU': 2, 'view|US': 4 }, COMPUTED_AT);
    expect(docs.map((d) => [d.status, d.count, d.final_count, d.late_events])).toEqual([
      ['final', 3, 2, 1],
      ['final', 4, 4, 0],
    ]);
  });

  it('counts a cell missing from the finals as final_count 0, all of it late', () => {
    const [doc] = aggregateDocs(WINDOW, [viewUS], { 'purchase|EU': 3 }, COMPUTED_AT);
    expect(doc?.status).toBe('final');
    expect(doc?.final_count).toBe(0);
    expect(doc?.late_events).toBe(4);
  });

  it('derives revenue, average price and window end from cents and counts', () => {
    const [doc] = aggregateDocs(WINDOW, [viewUS], undefined, COMPUTED_AT);
    expect(doc?.revenue).toBe(0);
    expect(doc?.avg_price).toBe(25); // 10 000 cents / 4 events / 100
    expect(doc?.max_indexed_at).toBeNull();
    expect(Date.parse(doc!.window_end) - Date.parse(doc!.window_start)).toBe(60_000);
  });

  it('gives an average price of 0 for a cell without events', () => {
    const [doc] = aggregateDocs(WINDOW, [{ ...viewUS, count: 0, price_cents_sum: 0 }], undefined, COMPUTED_AT);
    expect(doc?.avg_price).toBe(0);
  });

  it('gives one document per cell with a stable id from window, type and region', () => {
    const docs = aggregateDocs(WINDOW, [purchaseEU, viewUS], undefined, COMPUTED_AT);
    const again = aggregateDocs(WINDOW, [purchaseEU, viewUS], { 'purchase|EU': 3 }, COMPUTED_AT + 60_000);
    expect(docs.map(aggregateDocId)).toEqual(again.map(aggregateDocId));
    expect(new Set(docs.map(aggregateDocId)).size).toBe(2);
    expect(aggregateDocId(docs[0]!)).toContain(WINDOW_ISO);
  });
});

describe('windowsToRecompute', () => {
  const M = 60_000;
  const base = WINDOW;

  it('picks never computed, changed and due-open windows, skips the rest, and sorts them', () => {
    const watermark = base + 3 * M; // windows ending at or before base + 3 min are due
    const picked = windowsToRecompute(
      [
        // due to become final: still open, its end (base + 3 min) equals the watermark
        { windowStartMs: base + 2 * M, maxIndexedAtMs: 100, minComputedAtMs: 200, anyOpen: true },
        // never aggregated
        { windowStartMs: base + 5 * M, maxIndexedAtMs: 100 },
        // an event indexed after the aggregate was computed (a lost notice)
        { windowStartMs: base, maxIndexedAtMs: 300, minComputedAtMs: 200, anyOpen: false },
        // final and unchanged
        { windowStartMs: base + M, maxIndexedAtMs: 100, minComputedAtMs: 200, anyOpen: false },
        // open but not yet due (ends one ms after the watermark)
        { windowStartMs: base + 3 * M, maxIndexedAtMs: 100, minComputedAtMs: 200, anyOpen: true },
        // indexed at exactly the computation time: unchanged
        { windowStartMs: base + 4 * M, maxIndexedAtMs: 200, minComputedAtMs: 200 },
      ],
      watermark,
    );
    expect(picked).toEqual([base, base + 2 * M, base + 5 * M]);
  });

  it('leaves open windows alone without a watermark', () => {
    expect(windowsToRecompute([{ windowStartMs: base, maxIndexedAtMs: 100, minComputedAtMs: 200, anyOpen: true }], undefined)).toEqual([]);
  });

  it('sorts numerically, not as strings', () => {
    // As strings, "120000" < "60000" < "600000".
    const states = [10 * M, M, 2 * M].map((windowStartMs) => ({ windowStartMs, maxIndexedAtMs: 1 }));
    expect(windowsToRecompute(states, undefined)).toEqual([M, 2 * M, 10 * M]);
  });

  it('is empty for no windows', () => {
    expect(windowsToRecompute([], base)).toEqual([]);
  });
});
