import { describe, expect, it } from 'vitest';
import { aggregateDocs, type Cell } from './aggregate.ts';
import { ManualClock } from './fakes.ts';
import { LateEvents } from './late-events.ts';

const W = Date.parse('2024-05-01T12:34:00.000Z');
const DAY = 24 * 60 * 60 * 1000;

function cell(event_type: string, count: number): Cell {
  return { event_type, region: 'EU', count, revenue_cents: 0, quantity: count, price_cents_sum: 0, unique_users: 1, max_indexed_at: null };
}

function counting(clock: ManualClock) {
  const incs: number[] = [];
  const late = new LateEvents({ inc: (n) => incs.push(n) }, clock.now);
  return { late, incs, total: () => incs.reduce((s, n) => s + n, 0) };
}

describe('LateEvents', () => {
  it('counts each late event once, however often its window is recomputed', () => {
    const clock = new ManualClock(W + 120_000);
    const { late, total } = counting(clock);
    const finals = { 'view|EU': 2, 'click|EU': 5 };
    late.count(aggregateDocs(W, [cell('view', 2), cell('click', 5)], finals, clock.now())); // nothing late yet
    expect(total()).toBe(0);
    late.count(aggregateDocs(W, [cell('view', 4), cell('click', 5)], finals, clock.now())); // 2 late views
    late.count(aggregateDocs(W, [cell('view', 4), cell('click', 5)], finals, clock.now())); // the same again
    expect(total()).toBe(2);
    late.count(aggregateDocs(W, [cell('view', 5), cell('click', 7)], finals, clock.now())); // 1 more view, 2 clicks
    expect(total()).toBe(5);
  });

  it('counts nothing for open windows', () => {
    const clock = new ManualClock(W + 120_000);
    const { late, total } = counting(clock);
    late.count(aggregateDocs(W, [cell('view', 9)], undefined, clock.now()));
    expect(total()).toBe(0);
    expect(late.windows).toBe(0);
  });

  it('forgets windows that ended more than a day ago', async () => {
    const clock = new ManualClock(W + 120_000);
    const { late, total } = counting(clock);
    late.count(aggregateDocs(W, [cell('view', 3)], { 'view|EU': 1 }, clock.now()));
    expect(late.windows).toBe(1);
    await clock.advance(DAY - 120_000 + 60_000); // the window ended exactly a day ago: kept
    late.count([]);
    expect(late.windows).toBe(1);
    await clock.advance(1);
    late.count([]);
    expect(late.windows).toBe(0);
    expect(total()).toBe(2);
  });
});
