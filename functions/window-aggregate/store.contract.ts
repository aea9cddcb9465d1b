/**
 * What every WindowStore must do, run against the Elasticsearch store (store.it.test.ts)
 * and the in-memory one the unit tests use (fakes.test.ts), so the fake keeps the rules the
 * exactness rests on: versions that only grow, first final wins.
 */
import { describe, expect, it } from 'vitest';
import { aggregateDocs, type AggregateDoc, type Cell } from './aggregate.ts';
import { eventIn, type StoredEvent } from './fakes.ts';
import type { WindowStore } from './store.ts';

export interface StoreUnderTest {
  store: WindowStore;
  indexEvents(events: StoredEvent[]): Promise<void>;
  /** The stored aggregate document with this id, read in real time. */
  readAggregate(id: string): Promise<AggregateDoc | undefined>;
  /** Makes aggregate writes visible to searches. */
  settleWrites(): Promise<void>;
}

const W = Date.parse('2024-05-01T12:34:00.000Z');
const W_ISO = '2024-05-01T12:34:00.000Z';
const INDEXED = '2024-05-01T12:35:02.000Z';

function cell(count: number): Cell {
  return { event_type: 'view', region: 'EU', count, revenue_cents: 0, quantity: count, price_cents_sum: 0, unique_users: 1, max_indexed_at: null };
}

export function storeContract(name: string, open: () => Promise<StoreUnderTest>): void {
  describe(`${name}: the WindowStore contract`, () => {
    it('after a refresh, finds the newest event time and computes each cell of a window', async () => {
      const { store, indexEvents } = await open();
      await indexEvents([
        eventIn(W, 1000, { event_id: 'a', event_type: 'purchase', region: 'EU', user_id: 1001, price_cents: 1999, quantity: 2, revenue_cents: 3998, indexed_at: INDEXED }),
        eventIn(W, 2000, { event_id: 'b', event_type: 'purchase', region: 'EU', user_id: 1001, price_cents: 1000, quantity: 1, revenue_cents: 1000, indexed_at: '2024-05-01T12:35:03.500Z' }),
        eventIn(W, 3000, { event_id: 'c', event_type: 'view', region: 'US', user_id: 1002, price_cents: 2500, quantity: 3, revenue_cents: 0, indexed_at: INDEXED }),
        eventIn(W + 60_000, 4000, { event_id: 'd', indexed_at: INDEXED }),
      ]);
      await store.refreshEvents();
      expect(await store.latestEventTime()).toBe(W + 64_000);
      // In CELLS order: view before purchase.
      expect(await store.cells(W_ISO)).toEqual([
        { event_type: 'view', region: 'US', count: 1, revenue_cents: 0, quantity: 3, price_cents_sum: 2500, unique_users: 1, max_indexed_at: Date.parse(INDEXED) },
        { event_type: 'purchase', region: 'EU', count: 2, revenue_cents: 4998, quantity: 3, price_cents_sum: 2999, unique_users: 1, max_indexed_at: Date.parse('2024-05-01T12:35:03.500Z') },
      ]);
      expect(await store.cells('2024-05-01T13:00:00.000Z')).toEqual([]);
    });

    it('finds a window across a UTC midnight in its own day, after a refresh of that window, and none in a day with no events', async () => {
      const { store, indexEvents } = await open();
      // Before the first event there is no daily index, and no alias over them.
      await store.refreshEvents();
      expect(await store.latestEventTime()).toBeUndefined();
      expect(await store.windowStates(0)).toEqual([]);
      const lastOfDay = Date.parse('2024-05-01T23:59:00.000Z');
      await indexEvents([
        eventIn(lastOfDay, 59_999, { event_id: 'late-night', indexed_at: INDEXED }),
        eventIn(lastOfDay + 60_000, 0, { event_id: 'midnight', indexed_at: INDEXED }),
        eventIn(lastOfDay + 60_000, 1, { event_id: 'just-after', region: 'US', indexed_at: INDEXED }),
      ]);
      await store.refreshEvents('2024-05-01T23:59:00.000Z');
      await store.refreshEvents('2024-05-02T00:00:00.000Z');
      expect((await store.cells('2024-05-01T23:59:00.000Z')).map((c) => [c.region, c.count])).toEqual([['EU', 1]]);
      expect((await store.cells('2024-05-02T00:00:00.000Z')).map((c) => [c.region, c.count])).toEqual([
        ['US', 1],
        ['EU', 1],
      ]);
      // A day none of whose events was ever indexed (or whose index retention deleted).
      await store.refreshEvents('2024-04-01T00:00:00.000Z');
      expect(await store.cells('2024-04-01T00:00:00.000Z')).toEqual([]);
    });

    it('keeps the aggregate with the higher version: more events, or final over open with as many', async () => {
      const { store, readAggregate } = await open();
      const id = `${W_ISO}|view|EU`;
      await store.writeAggregates(aggregateDocs(W, [cell(5)], undefined, W + 1));
      await store.writeAggregates(aggregateDocs(W, [cell(3)], undefined, W + 2)); // stale: refused, and that is success
      expect(await readAggregate(id)).toMatchObject({ count: 5, status: 'open', computed_at: new Date(W + 1).toISOString() });
      await store.writeAggregates(aggregateDocs(W, [cell(5)], { 'view|EU': 5 }, W + 3));
      await store.writeAggregates(aggregateDocs(W, [cell(5)], undefined, W + 4)); // open after final: refused
      await store.writeAggregates(aggregateDocs(W, [cell(5)], { 'view|EU': 5 }, W + 5)); // the same version again: refused
      expect(await readAggregate(id)).toMatchObject({ count: 5, status: 'final', computed_at: new Date(W + 3).toISOString() });
    });

    it('records final counts once: the first record wins and is what later callers get', async () => {
      const { store } = await open();
      expect(await store.finalCounts(W_ISO)).toBeUndefined();
      expect(await store.createFinal({ window_start: W_ISO, finalized_at: INDEXED, counts: { 'view|EU': 2 } })).toEqual({ created: true, counts: { 'view|EU': 2 } });
      expect(await store.createFinal({ window_start: W_ISO, finalized_at: INDEXED, counts: { 'view|EU': 7 } })).toEqual({ created: false, counts: { 'view|EU': 2 } });
      expect(await store.finalCounts(W_ISO)).toEqual({ 'view|EU': 2 });
    });

    it('reports each window with events since a time: newest indexing, oldest computation, whether any cell is open', async () => {
      const { store, indexEvents, settleWrites } = await open();
      await indexEvents([
        eventIn(W - 60_000, 0, { event_id: 'before', indexed_at: INDEXED }),
        eventIn(W, 0, { event_id: 'a', indexed_at: INDEXED }),
        eventIn(W, 0, { event_id: 'b', region: 'US', indexed_at: '2024-05-01T12:35:09.000Z' }),
        eventIn(W + 60_000, 0, { event_id: 'c', indexed_at: INDEXED }),
      ]);
      await store.refreshEvents();
      await store.writeAggregates([
        ...aggregateDocs(W, [cell(1)], { 'view|EU': 1 }, W + 100_000),
        ...aggregateDocs(W, [{ ...cell(1), region: 'US' }], undefined, W + 90_000),
      ]);
      await settleWrites();
      expect(await store.windowStates(W)).toEqual([
        { windowStartMs: W, maxIndexedAtMs: Date.parse('2024-05-01T12:35:09.000Z'), minComputedAtMs: W + 90_000, anyOpen: true },
        { windowStartMs: W + 60_000, maxIndexedAtMs: Date.parse(INDEXED), minComputedAtMs: undefined, anyOpen: undefined },
      ]);
    });
  });
}
