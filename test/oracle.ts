/**
 * Expected window aggregates, computed from the unique raw events with code of the test's
 * own (not the pipeline's), and the comparison with what Elasticsearch holds.
 */
import { expect } from 'vitest';
import type { AggregateDoc } from '../functions/window-aggregate/aggregate.ts';
import type { RawEvent } from '../shared/schemas.ts';

export interface OracleCell {
  count: number;
  revenue_cents: number;
  quantity: number;
  users: Set<number>;
  priceSum: number;
}

export function oracleOf(events: RawEvent[]): Map<string, OracleCell> {
  const cells = new Map<string, OracleCell>();
  for (const e of events) {
    const t = Date.parse(e.timestamp);
    const window = new Date(t - (t % 60_000)).toISOString();
    const key = `${window}|${e.event_type}|${e.region}`;
    let cell = cells.get(key);
    if (!cell) cells.set(key, (cell = { count: 0, revenue_cents: 0, quantity: 0, users: new Set(), priceSum: 0 }));
    cell.count++;
    cell.quantity += e.quantity;
    cell.users.add(e.user_id);
    cell.priceSum += e.price;
    if (e.event_type === 'purchase') cell.revenue_cents += Math.round(e.price * 100) * e.quantity;
  }
  return cells;
}

/** Every stored aggregate equals the oracle: count, revenue, quantity, users exactly; avg_price to 1e-9. */
export function expectAggregatesMatch(stored: AggregateDoc[], oracle: Map<string, OracleCell>): void {
  expect(stored).toHaveLength(oracle.size);
  for (const doc of stored) {
    const key = `${doc.window_start}|${doc.event_type}|${doc.region}`;
    const expected = oracle.get(key);
    expect(expected, key).toBeDefined();
    expect({ key, count: doc.count, revenue_cents: doc.revenue_cents, quantity: doc.quantity, unique_users: doc.unique_users }).toEqual({
      key,
      count: expected!.count,
      revenue_cents: expected!.revenue_cents,
      quantity: expected!.quantity,
      unique_users: expected!.users.size,
    });
    expect(Math.abs(doc.avg_price - expected!.priceSum / expected!.count)).toBeLessThan(1e-9);
    expect(doc.final_count === null ? doc.late_events : doc.final_count + doc.late_events).toBe(doc.status === 'final' ? doc.count : 0);
  }
}
