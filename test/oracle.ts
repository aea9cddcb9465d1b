/**
 * Expected window aggregates, computed from the unique raw events with code of the test's
 * own (not the pipeline's), and the comparison with what Elasticsearch holds.
 */
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

/**
 * How the stored aggregates differ from the oracle (none: exact): count, revenue, quantity,
 * users exactly; and, for the pipeline's own documents (`pipelineFields`, the default),
 * avg_price to 1e-9 and final_count + late_events = count once final.
 */
export function aggregateDifferences(
  stored: Pick<AggregateDoc, 'window_start' | 'event_type' | 'region' | 'count' | 'revenue_cents' | 'quantity' | 'unique_users'>[],
  oracle: Map<string, OracleCell>,
  { pipelineFields = true }: { pipelineFields?: boolean } = {},
): string[] {
  const out: string[] = [];
  if (stored.length !== oracle.size) out.push(`${stored.length} aggregate documents, expected ${oracle.size}`);
  for (const doc of stored) {
    const key = `${doc.window_start}|${doc.event_type}|${doc.region}`;
    const expected = oracle.get(key);
    if (!expected) {
      out.push(`${key}: not expected`);
      continue;
    }
    const got = { count: doc.count, revenue_cents: doc.revenue_cents, quantity: doc.quantity, unique_users: doc.unique_users };
    const want = { count: expected.count, revenue_cents: expected.revenue_cents, quantity: expected.quantity, unique_users: expected.users.size };
    if (JSON.stringify(got) !== JSON.stringify(want)) out.push(`${key}: ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
    if (!pipelineFields) continue;
    const full = doc as AggregateDoc;
    if (Math.abs(full.avg_price - expected.priceSum / expected.count) >= 1e-9) out.push(`${key}: avg_price ${full.avg_price}, expected ${expected.priceSum / expected.count}`);
    const settled = full.final_count === null ? full.late_events : full.final_count + full.late_events;
    if (settled !== (full.status === 'final' ? full.count : 0)) out.push(`${key}: final_count ${full.final_count} + late_events ${full.late_events} does not settle its ${full.status} count ${full.count}`);
  }
  return out;
}
