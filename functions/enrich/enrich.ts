/** Enrichment of one raw shop event. Pure: no I/O. */
import { ErrorCode, badEvent } from '../../shared/errors.ts';
import type { EnrichedEvent, RawEvent } from '../../shared/schemas.ts';
import { windowStartIso } from '../../shared/window.ts';
import { productOf } from './catalog.ts';

/** Price in integer cents; prices carry two decimals, so rounding only removes float noise. */
export function centsOf(price: number): number {
  return Math.round(price * 100);
}

/**
 * Revenue counts purchases only (the original summed price × quantity over every event
 * type; a view is not revenue). Integer cents end to end.
 */
export function revenueCentsOf(event: Pick<RawEvent, 'event_type' | 'price' | 'quantity'>): number {
  return event.event_type === 'purchase' ? centsOf(event.price) * event.quantity : 0;
}

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
  const { category, brand } = productOf(event.product_id);
  return {
    ...event,
    price_cents: centsOf(event.price),
    revenue_cents: revenueCentsOf(event),
    window_start: windowStartIso(event.timestamp),
    category,
    brand,
    hour_of_day: new Date(event.timestamp).getUTCHours(),
    enriched_at: new Date(nowMs).toISOString(),
  };
}
