import { describe, expect, it } from 'vitest';
import { PipelineError } from '../../shared/errors.ts';
import { EnrichedEventSchema, EVENT_TYPES } from '../../shared/schemas.ts';
import { validator } from '../../shared/validation.ts';
import { centsOf, revenueCentsOf } from '../../shared/enrichment.ts';
import { enrichedRawEvent, rawEvent, thrownBy } from '../../test/helpers.ts';
import { assertNotFromTheFuture, enrichEvent } from './enrich.ts';

const isEnriched = validator(EnrichedEventSchema);

const NOW = Date.parse('2026-11-24T12:00:30.000Z');

const purchase = rawEvent();

describe('centsOf', () => {
  it('removes float noise', () => {
    // 0.29 × 100 is 28.999999999999996 in binary floating point.
    expect(centsOf(0.29)).toBe(29);
    expect(centsOf(19.99)).toBe(1999);
    expect(centsOf(1.15)).toBe(115);
    expect(centsOf(10.1)).toBe(1010);
    expect(centsOf(1000)).toBe(100_000);
  });

  it('is exact for every two-decimal price from 10.00 to 1000.00', () => {
    const wrong: number[] = [];
    for (let cents = 1000; cents <= 100_000; cents++) if (centsOf(cents / 100) !== cents) wrong.push(cents);
    expect(wrong).toEqual([]);
  });
});

describe('revenueCentsOf', () => {
  it('is price × quantity in integer cents for a purchase', () => {
    expect(revenueCentsOf(purchase)).toBe(5997);
    expect(revenueCentsOf({ event_type: 'purchase', price: 0.29 * 100, quantity: 1 })).toBe(2900);
    expect(revenueCentsOf({ event_type: 'purchase', price: 33.33, quantity: 3 })).toBe(9999);
    expect(revenueCentsOf({ event_type: 'purchase', price: 1000, quantity: 5 })).toBe(500_000);
  });

  it('is 0 for every other event type', () => {
    for (const event_type of EVENT_TYPES.filter((t) => t !== 'purchase')) {
      expect(revenueCentsOf({ ...purchase, event_type })).toBe(0);
    }
  });
});

describe('assertNotFromTheFuture', () => {
  const lateness = 30_000;
  const at = (ms: number) => ({ event_id: purchase.event_id, timestamp: new Date(ms).toISOString() });

  it('passes past and present events', () => {
    expect(() => assertNotFromTheFuture(at(NOW - 86_400_000), NOW, lateness)).not.toThrow();
    expect(() => assertNotFromTheFuture(at(NOW), NOW, lateness)).not.toThrow();
  });

  it('passes an event exactly the allowed lateness ahead', () => {
    expect(() => assertNotFromTheFuture(at(NOW + lateness), NOW, lateness)).not.toThrow();
  });

  it('answers 400 BDP_ERR_FUTURE_EVENT one millisecond beyond', () => {
    const error = thrownBy(PipelineError, () => assertNotFromTheFuture(at(NOW + lateness + 1), NOW, lateness));
    expect(error.statusCode).toBe(400);
    expect(error.code).toBe('BDP_ERR_FUTURE_EVENT');
    expect(error.message).toContain(purchase.event_id);
    expect(error.details).toEqual({ timestamp: new Date(NOW + lateness + 1).toISOString() });
  });

  it('with zero lateness, refuses even 1 ms ahead', () => {
    expect(() => assertNotFromTheFuture(at(NOW), NOW, 0)).not.toThrow();
    expect(() => assertNotFromTheFuture(at(NOW + 1), NOW, 0)).toThrow(PipelineError);
  });
});

describe('enrichEvent', () => {
  const enriched = enrichEvent(purchase, NOW);

  it('keeps the raw fields and adds the derived ones', () => {
    expect(enriched).toEqual(enrichedRawEvent());
  });

  it('passes EnrichedEventSchema', () => {
    expect(isEnriched.issues(enriched)).toEqual([]);
    for (const event_type of EVENT_TYPES) {
      expect(isEnriched.issues(enrichEvent({ ...purchase, event_type, price: 1000, quantity: 5 }, NOW))).toEqual([]);
    }
  });

  it('gives revenue only for purchases, but price_cents always', () => {
    const view = enrichEvent({ ...purchase, event_type: 'view' }, NOW);
    expect(view.revenue_cents).toBe(0);
    expect(view.price_cents).toBe(1999);
  });

  it('takes window_start and hour_of_day from the event time in UTC', () => {
    const late = enrichEvent({ ...purchase, timestamp: '2024-12-31T23:59:59.999Z' }, NOW);
    expect(late.window_start).toBe('2024-12-31T23:59:00.000Z');
    expect(late.hour_of_day).toBe(23);
    const early = enrichEvent({ ...purchase, timestamp: '2025-01-01T00:00:00.000Z' }, NOW);
    expect(early.window_start).toBe('2025-01-01T00:00:00.000Z');
    expect(early.hour_of_day).toBe(0);
  });

  it('stamps enriched_at with the given clock, not the event time', () => {
    expect(enrichEvent(purchase, NOW + 1234).enriched_at).toBe(new Date(NOW + 1234).toISOString());
  });

  it('is deterministic for the same input and clock', () => {
    expect(enrichEvent(purchase, NOW)).toEqual(enriched);
  });

  it('does not modify the raw event', () => {
    const raw = { ...purchase };
    enrichEvent(raw, NOW);
    expect(raw).toEqual(purchase);
  });
});
