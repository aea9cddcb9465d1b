/** Enrichment of one raw shop event. Pure: no I/O. */
import { ErrorCode, badEvent } from '../../shared/errors.ts';
import type { EnrichedEvent, RawEvent } from '../../shared/schemas.ts';
import { derivedFieldsOf } from '../../shared/enrichment.ts';

/** An event dated further in the future than the allowed lateness is bad input. */
export function assertNotFromTheFuture(event: Pick<RawEvent, 'event_id' | 'timestamp'>, nowMs: number, latenessMs: number): void {
  const ahead = Date.parse(event.timestamp) - nowMs;
  if (ahead > latenessMs) {
    throw badEvent(ErrorCode.futureEvent, `event ${event.event_id} is dated ${Math.round(ahead / 1000)} s in the future (allowed: ${latenessMs / 1000} s)`, {
      timestamp: event.timestamp,
    });
  }
}

export function enrichEvent(event: RawEvent, nowMs: number): EnrichedEvent {
  return { ...event, ...derivedFieldsOf(event), enriched_at: new Date(nowMs).toISOString() };
}
