/** `make curl-local`'s default body: a CloudEvent each function accepts. */
import { CeType } from '../../shared/ce-types.ts';
import { derivedFieldsOf } from '../../shared/enrichment.ts';
import type { RawEvent } from '../../shared/schemas.ts';

/** One sample CloudEvent per function, for a first curl. */
export function sampleEvent(fn: string, now = new Date()): { type: string; data: unknown } {
  const time = now.toISOString();
  const minute = new Date(Math.floor(now.getTime() / 60_000) * 60_000).toISOString();
  const raw: RawEvent = { event_id: '3b241101-e2bb-4255-8caf-4136c566a962', timestamp: time, user_id: 4321, session_id: 54321, event_type: 'purchase', product_id: 250, price: 19.99, quantity: 3, region: 'EU', device: 'tablet' };
  switch (fn) {
    case 'generate':
      return { type: CeType.generateRequest, data: { count: 10 } };
    case 'enrich':
      return { type: CeType.shopEvent, data: raw };
    case 'index':
      return { type: CeType.enrichedEvent, data: { ...raw, ...derivedFieldsOf(raw), enriched_at: time } };
    default:
      return { type: CeType.windowTouched, data: { window_start: minute } };
  }
}
