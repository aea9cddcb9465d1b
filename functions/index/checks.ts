/** Checks of an enriched event beyond its JSON Schema. Pure: no I/O. */
import { DERIVED_FROM, type DerivedFields, derivedFieldsOf } from '../../shared/enrichment.ts';
import { ErrorCode, badEvent } from '../../shared/errors.ts';
import type { EnrichedEvent } from '../../shared/schemas.ts';

/**
 * Every derived field must be what enrich derives from the event's own raw fields
 * (shared/enrichment.ts): a `window_start` off the minute of `timestamp` would be indexed
 * into, and aggregated as, a window the event does not belong to; a `revenue_cents` off
 * price × quantity would be summed into the revenue. Throws a 400 (dead letter) naming
 * every field that disagrees.
 */
export function assertDerivedFieldsAgree(event: EnrichedEvent): void {
  if (Number.isNaN(Date.parse(event.timestamp))) {
    throw badEvent(ErrorCode.invalidData, `event ${event.event_id}: timestamp ${event.timestamp} is not a readable time`, [
      { path: '/timestamp', message: 'must be a readable time: window_start and hour_of_day are derived from it' },
    ]);
  }
  const expected = derivedFieldsOf(event);
  const wrong = (Object.keys(expected) as (keyof DerivedFields)[]).filter((field) => event[field] !== expected[field]);
  if (wrong.length === 0) return;
  const reasons = wrong.map((field) =>
    field === 'window_start'
      ? `window_start ${event.window_start} is not the start of the UTC minute of its timestamp ${event.timestamp} (expected ${expected.window_start})`
      : `${field} ${JSON.stringify(event[field])} is not what enrich derives from ${DERIVED_FROM[field]} (expected ${JSON.stringify(expected[field])})`,
  );
  throw badEvent(
    ErrorCode.invalidData,
    `event ${event.event_id}: ${reasons.join('; ')}`,
    wrong.map((field) => ({
      path: `/${field}`,
      message:
        field === 'window_start'
          ? `must be ${expected.window_start}, the start of the UTC minute of timestamp`
          : `must be ${JSON.stringify(expected[field])}, derived from ${DERIVED_FROM[field]}`,
    })),
  );
}
