import { describe, expect, it } from 'vitest';
import { FakeStore, ManualClock, eventIn } from './fakes.ts';
import { storeContract } from './store.contract.ts';

storeContract('FakeStore', async () => {
  const store = new FakeStore();
  return {
    store,
    indexEvents: async (events) => store.index(...events),
    readAggregate: async (id) => store.aggregates.get(id)?.doc,
    settleWrites: async () => undefined,
  };
});

describe('FakeStore', () => {
  it('shows events only as of the start of the last refresh (Elasticsearch may show them sooner)', async () => {
    const store = new FakeStore();
    const W = Date.parse('2024-05-01T12:34:00.000Z');
    store.index(eventIn(W, 1000, { event_id: 'a', indexed_at: '2024-05-01T12:35:00.000Z' }));
    expect(await store.latestEventTime()).toBeUndefined();
    await store.refreshEvents();
    expect(await store.latestEventTime()).toBe(W + 1000);
    store.index(eventIn(W, 2000, { event_id: 'b', indexed_at: '2024-05-01T12:35:00.000Z' }));
    expect(await store.cells('2024-05-01T12:34:00.000Z')).toMatchObject([{ count: 1 }]);
  });
});

describe('ManualClock', () => {
  it('ends a sleep when the clock passes it, not before', async () => {
    const clock = new ManualClock(100);
    let woke = false;
    void clock.sleep(50).then(() => (woke = true));
    await clock.advance(49);
    expect(woke).toBe(false);
    await clock.advance(1);
    expect(woke).toBe(true);
    expect(clock.now()).toBe(150);
    expect(clock.sleeps).toEqual([50]);
  });
});
