import { describe, expect, it, vi } from 'vitest';
import { createMetrics } from '../../shared/metrics.ts';
import { deferred } from '../../test/helpers.ts';
import { FakeStore, ManualClock, eventIn, settle } from './fakes.ts';
import { WindowAggregator } from './recompute.ts';
import type { UpstreamBehind } from './watermark.ts';

const W = Date.parse('2024-05-01T12:34:00.000Z');
const W_ISO = '2024-05-01T12:34:00.000Z';
const LATENESS = 30_000;

function setup(options: { upstreamBehind?: UpstreamBehind; refreshMinIntervalMs?: number } = {}) {
  const clock = new ManualClock(W + 10 * 60_000);
  const store = new FakeStore();
  const metrics = createMetrics({ function: 'window-aggregate' });
  const aggregator = new WindowAggregator({
    store,
    metrics,
    upstreamBehind: options.upstreamBehind,
    latenessMs: LATENESS,
    refreshMinIntervalMs: options.refreshMinIntervalMs ?? 0,
    finalizeLookbackMs: 24 * 60 * 60_000,
    now: clock.now,
    sleep: clock.sleep,
  });
  const counter = async (name: 'recomputes' | 'windowsFinalized' | 'lateEvents') =>
    (await metrics[name].get()).values.reduce((sum, v) => sum + v.value, 0);
  /** A view in W, indexed now. */
  const view = (id: string, offsetMs = 1000) => eventIn(W, offsetMs, { event_id: id, indexed_at: new Date(clock.now()).toISOString() });
  return { clock, store, aggregator, counter, view };
}

describe('WindowAggregator.recompute', () => {
  it('writes one open document per cell, computed as of its refresh', async () => {
    const { clock, store, aggregator, view } = setup();
    store.index(view('a'), view('b'), { ...view('c'), event_type: 'purchase', region: 'US', revenue_cents: 500, price_cents: 250, quantity: 2 });
    const result = await aggregator.recompute(W, 'touched');
    expect(result).toEqual({ window_start: W_ISO, cells: 2, events: 3, status: 'open', watermark: null });
    expect(store.aggregate(W, 'view', 'EU')).toMatchObject({ count: 2, status: 'open', final_count: null, computed_at: new Date(clock.now()).toISOString() });
    expect(store.aggregate(W, 'purchase', 'US')).toMatchObject({ count: 1, revenue_cents: 500, quantity: 2 });
  });

  it('answers an empty window without writing', async () => {
    const { store, aggregator } = setup();
    expect(await aggregator.recompute(W, 'touched')).toEqual({ window_start: W_ISO, cells: 0, events: 0, status: 'empty', watermark: null });
    expect(store.calls.writeAggregates).toBe(0);
  });

  it('runs one follow-up for any number of notices that arrive during a recomputation, and it sees their events', async () => {
    const { clock, store, aggregator, counter, view } = setup();
    const hold = deferred();
    store.holdRefresh = hold.promise;
    store.index(view('a'));
    const first = aggregator.recompute(W, 'touched');
    await settle();
    await clock.advance(10);
    store.index(view('b'));
    const second = aggregator.recompute(W, 'touched');
    store.index(view('c'));
    const third = aggregator.recompute(W, 'touched');
    store.holdRefresh = undefined;
    hold.resolve();

    expect((await first).events).toBe(1);
    expect((await second).events).toBe(3);
    expect(await third).toEqual(await second);
    expect(store.calls.cells).toBe(2);
    expect(await counter('recomputes')).toBe(2);
    expect(store.aggregate(W, 'view', 'EU')?.count).toBe(3);
  });

  it('answers a notice produced a clock-skew margin before a finished recomputation refreshed from that recomputation', async () => {
    const { clock, store, aggregator, view } = setup();
    store.index(view('a'));
    const refreshedAt = clock.now();
    const computed = await aggregator.recompute(W, 'touched', refreshedAt - 5000);
    await clock.advance(10_000);

    expect(await aggregator.recompute(W, 'touched', refreshedAt - 1000)).toEqual({ ...computed, coalesced: true });
    expect(store.calls.cells).toBe(1);
    const recomputed = await aggregator.recompute(W, 'touched', refreshedAt - 999);
    expect(recomputed.coalesced).toBeUndefined();
    expect(store.calls.cells).toBe(2);
  });

  it('does not coalesce a notice without a time', async () => {
    const { store, aggregator, view } = setup();
    store.index(view('a'));
    await aggregator.recompute(W, 'touched');
    await aggregator.recompute(W, 'touched');
    expect(store.calls.cells).toBe(2);
  });

  it('shares one refresh among recomputations of different windows that run together', async () => {
    const { store, aggregator, view } = setup({ refreshMinIntervalMs: 250 });
    store.index(view('a'), eventIn(W + 60_000, 0, { event_id: 'b', indexed_at: view('x').indexed_at }));
    const results = await Promise.all([aggregator.recompute(W, 'touched'), aggregator.recompute(W + 60_000, 'touched')]);
    expect(results.map((r) => r.events)).toEqual([1, 1]);
    expect(store.calls.refreshEvents).toBe(1);
  });

  it('fails the caller of a failed recomputation and still runs the follow-up queued behind it', async () => {
    const { store, aggregator, view } = setup();
    store.index(view('a'));
    store.failNext('cells', new Error('search refused'));
    const first = aggregator.recompute(W, 'touched');
    const second = aggregator.recompute(W, 'touched');
    await expect(first).rejects.toThrow('search refused');
    expect((await second).events).toBe(1);
  });
});

describe('WindowAggregator finality', () => {
  /** Aggregates W once while open, then lets the tick's wall-clock watermark finalize it. */
  async function finalized(s: ReturnType<typeof setup>, views: number) {
    s.store.index(...Array.from({ length: views }, (_, i) => s.view(`v${i}`)));
    await s.aggregator.recompute(W, 'touched');
    return s.aggregator.finalizeTick();
  }

  it('records the final counts when the watermark passes the window end', async () => {
    const s = setup();
    const tick = await finalized(s, 2);
    expect(tick).toEqual({ watermark: new Date(s.clock.now() - LATENESS).toISOString(), recomputed: [W_ISO] });
    expect(s.store.finals.get(W_ISO)).toEqual({ window_start: W_ISO, finalized_at: new Date(s.clock.now()).toISOString(), counts: { 'view|EU': 2 } });
    expect(s.store.aggregate(W, 'view', 'EU')).toMatchObject({ status: 'final', count: 2, final_count: 2, late_events: 0 });
    expect(await s.counter('windowsFinalized')).toBe(1);
  });

  it('writes the final counts once, and counts the events that arrive after as late, once each', async () => {
    const s = setup();
    await finalized(s, 2);
    const record = s.store.finals.get(W_ISO);
    await s.clock.advance(5000);
    s.store.index(s.view('late1'), s.view('late2'));
    expect(await s.aggregator.recompute(W, 'touched')).toMatchObject({ status: 'final', events: 4 });
    await s.aggregator.recompute(W, 'touched');

    expect(s.store.finals.get(W_ISO)).toBe(record);
    expect(s.store.calls.createFinal).toBe(1);
    expect(s.store.aggregate(W, 'view', 'EU')).toMatchObject({ status: 'final', count: 4, final_count: 2, late_events: 2 });
    expect(await s.counter('windowsFinalized')).toBe(1);
    expect(await s.counter('lateEvents')).toBe(2);
  });

  it('takes the final counts of whoever recorded them first', async () => {
    const s = setup();
    s.store.index(s.view('a'), s.view('b'), s.view('c'));
    await s.aggregator.recompute(W, 'touched');
    // Another replica finalizes between this one's read of the finals and its create.
    s.store.finals.set(W_ISO, { window_start: W_ISO, finalized_at: W_ISO, counts: { 'view|EU': 1 } });
    vi.spyOn(s.store, 'finalCounts').mockResolvedValueOnce(undefined);
    await s.aggregator.finalizeTick();
    expect(s.store.aggregate(W, 'view', 'EU')).toMatchObject({ status: 'final', count: 3, final_count: 1, late_events: 2 });
    expect(await s.counter('windowsFinalized')).toBe(0);
  });

  it('holds finality while upstream is behind, and finalizes once it caught up', async () => {
    let behind = true;
    const s = setup({ upstreamBehind: async () => behind });
    const held = await finalized(s, 1);
    expect(held.watermark).toBeNull();
    expect(s.store.aggregate(W, 'view', 'EU')?.status).toBe('open');
    behind = false;
    await s.aggregator.finalizeTick();
    expect(s.store.aggregate(W, 'view', 'EU')?.status).toBe('final');
  });
});

describe('WindowAggregator.finalizeTick', () => {
  it('recomputes a window re-indexed after its aggregate once, not on every tick', async () => {
    const s = setup();
    await aggregatedByTick(s);
    // A duplicate re-indexed later changes no count, so the stored computed_at stays older.
    await s.clock.advance(1100);
    s.store.index(s.view('a'));
    await s.store.refreshEvents();
    await s.clock.advance(1100); // past the clock-skew margin between the indexing and the recomputation
    expect((await s.aggregator.finalizeTick()).recomputed).toEqual([W_ISO]);
    expect((await s.aggregator.finalizeTick()).recomputed).toEqual([]);
  });

  async function aggregatedByTick(s: ReturnType<typeof setup>) {
    s.store.index(s.view('a'));
    await s.aggregator.finalizeTick(); // nothing searchable yet
    await s.store.refreshEvents();
    expect((await s.aggregator.finalizeTick()).recomputed).toEqual([W_ISO]); // never aggregated
    expect((await s.aggregator.finalizeTick()).recomputed).toEqual([]);
  }

  it('leaves windows older than the lookback alone', async () => {
    const s = setup();
    s.store.index(eventIn(W - 25 * 60 * 60_000, 0, { event_id: 'old', indexed_at: W_ISO }));
    await s.store.refreshEvents();
    expect((await s.aggregator.finalizeTick()).recomputed).toEqual([]);
  });
});
