/**
 * What enrich derives from a raw event, defined once: enrich adds these fields, and index
 * refuses an enriched event whose fields disagree with them. Pure: no I/O.
 */
import { productOf } from './catalog.ts';
import type { EnrichedEvent, RawEvent } from './schemas.ts';
import { windowStartIso } from './window.ts';

export type DerivedFields = Pick<EnrichedEvent, 'price_cents' | 'revenue_cents' | 'window_start' | 'category' | 'brand' | 'hour_of_day'>;

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

/** The derived fields of a valid raw event (its timestamp readable, its product in the catalog). */
export function derivedFieldsOf(event: RawEvent): DerivedFields {
  const { category, brand } = productOf(event.product_id);
  return {
    price_cents: centsOf(event.price),
    revenue_cents: revenueCentsOf(event),
    window_start: windowStartIso(event.timestamp),
    category,
    brand,
    hour_of_day: new Date(event.timestamp).getUTCHours(),
  };
}

/** Each derived field and the raw fields it comes from, as an error names them. */
export const DERIVED_FROM: Record<keyof DerivedFields, string> = {
  price_cents: 'price',
  revenue_cents: 'event_type, price and quantity',
  window_start: 'timestamp',
  category: 'product_id',
  brand: 'product_id',
  hour_of_day: 'timestamp',
};
