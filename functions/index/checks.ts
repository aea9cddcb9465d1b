/** Checks of an enriched event beyond its JSON Schema. Pure: no I/O. */
import { ErrorCode, badEvent } from '../../shared/errors.ts';
import type { EnrichedEvent } from '../../shared/schemas.ts';
import { windowStartOf } from '../../shared/window.ts';

/**
 * `window_start` must be the start of the UTC minute of `timestamp` (what enrich computes with
 * windowStartIso): any other value would be indexed into, and aggregated as, a window the
 * event does not belong to. Throws a 400 (dead letter) otherwise.
 */
export function assertWindowStartMatches(event: Pick<EnrichedEvent, 'event_id' | 'timestamp' | 'window_start'>): void {
  const timeMs = Date.parse(event.timestamp);
  const expected = Number.isNaN(timeMs) ? undefined : new Date(windowStartOf(timeMs)).toISOString();
  if (event.window_start === expected) return;
  throw badEvent(
    ErrorCode.invalidData,
    `event ${event.event_id}: window_start ${event.window_start} is not the start of the UTC minute of its timestamp ${event.timestamp}` +
      (expected === undefined ? '' : ` (expected ${expected})`),
    [
      {
        path: '/window_start',
        message: expected === undefined ? 'cannot be checked: timestamp is not a readable time' : `must be ${expected}, the start of the UTC minute of timestamp`,
      },
    ],
  );
}
