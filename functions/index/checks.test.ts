import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BRANDS, CATEGORIES } from '../../shared/catalog.ts';
import { derivedFieldsOf } from '../../shared/enrichment.ts';
import { PipelineError } from '../../shared/errors.ts';
import { EVENT_TYPES, EnrichedEventSchema, type EnrichedEvent, type RawEvent } from '../../shared/schemas.ts';
import { validator } from '../../shared/validation.ts';
import { enrichEvent } from '../enrich/enrich.ts';
import { rawEvent } from '../../test/helpers.ts';
import { assertDerivedFieldsAgree } from './checks.ts';

const raw = rawEvent({ timestamp: '2024-05-01T12:34:56.789Z' });
const NOW = Date.parse('2024-05-01T12:35:00.000Z');
const good = enrichEvent(raw, NOW);

function problem(event: EnrichedEvent): PipelineError | undefined {
  try {
    assertDerivedFieldsAgree(event);
    return undefined;
  } catch (error) {
    return error as PipelineError;
  }
}

/** What index does at its door: the JSON Schema, then the derived fields. */
const isEnriched = validator(EnrichedEventSchema);
function accepted(event: unknown): boolean {
  return isEnriched(event) && problem(event) === undefined;
}

const rawEvents: fc.Arbitrary<RawEvent> = fc.record({
  event_id: fc.uuid({ version: 4 }),
  timestamp: fc.integer({ min: Date.parse('2000-01-01T00:00:00.000Z'), max: Date.parse('2099-12-31T23:59:59.999Z') }).map((ms) => new Date(ms).toISOString()),
  user_id: fc.integer({ min: 1000, max: 9999 }),
  session_id: fc.integer({ min: 10000, max: 99999 }),
  event_type: fc.constantFrom(...EVENT_TYPES),
  product_id: fc.integer({ min: 100, max: 999 }),
  price: fc.integer({ min: 1000, max: 100000 }).map((c) => c / 100),
  quantity: fc.integer({ min: 1, max: 5 }),
  region: fc.constantFrom('US', 'EU', 'ASIA', 'SA'),
  device: fc.constantFrom('mobile', 'desktop', 'tablet'),
});

describe('assertDerivedFieldsAgree', () => {
  it('accepts every event enrich produces', () => {
    fc.assert(
      fc.property(rawEvents, (r) => {
        expect(accepted(enrichEvent(r, NOW))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it.each([
    ['another minute', '2024-05-01T12:35:00.000Z'],
    ['the minute before', '2024-05-01T12:33:00.000Z'],
    ['not a minute start', '2024-05-01T12:34:30.000Z'],
    ['the timestamp itself', '2024-05-01T12:34:56.789Z'],
    ['another hour', '2024-05-01T13:34:00.000Z'],
  ])('refuses a window_start of %s with a 400 naming the expected window', (_, window_start) => {
    const error = problem({ ...good, window_start });
    expect(error).toBeInstanceOf(PipelineError);
    expect(error!.statusCode).toBe(400);
    expect(error!.code).toBe('BDP_ERR_INVALID_DATA');
    expect(error!.message).toContain('expected 2024-05-01T12:34:00.000Z');
    expect(error!.details).toEqual([{ path: '/window_start', message: 'must be 2024-05-01T12:34:00.000Z, the start of the UTC minute of timestamp' }]);
  });

  it.each<[string, Partial<EnrichedEvent>, string[]]>([
    ['an hour_of_day that disagrees with timestamp', { hour_of_day: 13 }, ['/hour_of_day']],
    ['price_cents off the price', { price_cents: 2000 }, ['/price_cents']],
    ['revenue of a view', { event_type: 'view' }, ['/revenue_cents']],
    ['revenue off price × quantity', { revenue_cents: 1999 }, ['/revenue_cents']],
    ["another category's product", { product_id: 500 }, ['/category', '/brand']],
    ['a catalog brand, not this product’s', { brand: good.brand === 'Acme' ? 'Globex' : 'Acme' }, ['/brand']],
  ])('refuses %s, naming every field that disagrees', (_, change, paths) => {
    const error = problem({ ...good, ...change });
    expect(error?.statusCode).toBe(400);
    expect((error!.details as { path: string }[]).map((d) => d.path)).toEqual(paths);
    expect(error!.message).toMatch(/is not what enrich derives from .* \(expected /);
  });

  it.each<[string, Record<string, unknown>]>([
    ['brand <script>', { brand: '<script>alert(1)</script>' }],
    ['brand with a NUL character', { brand: 'Acme\u0000' }],
    ["brand ' OR 1=1 --", { brand: "' OR 1=1 --" }],
    ['a 10 KB category', { category: 'x'.repeat(10 * 1024) }],
    ['an hour_of_day that disagrees with timestamp', { hour_of_day: (good.hour_of_day + 5) % 24 }],
    ['an unknown category', { category: 'weapons' }],
  ])('index refuses %s', (_, change) => {
    expect(accepted({ ...good, ...change })).toBe(false);
  });

  // A fuzz of mutated enriched events: one field set to a hostile or random value is refused,
  // unless the value happens to be exactly what enrich would have written.
  const FIELDS = Object.keys(good) as (keyof EnrichedEvent)[];
  const hostile = fc.oneof(
    fc.constantFrom<unknown>('<script>', '\u0000', "' OR 1=1 --", 'x'.repeat(10 * 1024), '', -1, 24, 1e21, null, true, [], {}, ...CATEGORIES, ...BRANDS),
    fc.string({ maxLength: 40 }),
    fc.integer({ min: -100, max: 200_000 }),
    fc.double(),
    fc.anything(),
  );

  it('refuses enriched events with one field mutated, over a fuzz', () => {
    fc.assert(
      fc.property(rawEvents, fc.constantFrom(...FIELDS), hostile, (r, field, value) => {
        const original = enrichEvent(r, NOW);
        const mutated = { ...original, [field]: value };
        if (accepted(mutated)) {
          // Only a value that leaves the event valid and consistent may pass: its derived fields
          // are enrich's, compared as JSON, as they are stored (-0 is written as 0).
          const { enriched_at: _a, ...fields } = mutated as EnrichedEvent;
          const { enriched_at: _b, ...fromRaw } = enrichEvent(mutated as EnrichedEvent, NOW);
          expect(JSON.parse(JSON.stringify(fields))).toEqual(JSON.parse(JSON.stringify(fromRaw)));
          expect(Object.entries(derivedFieldsOf(mutated as EnrichedEvent)).every(([k, v]) => (mutated as Record<string, unknown>)[k] === v)).toBe(true);
        }
        const { [field]: _, ...withoutIt } = original;
        expect(accepted(withoutIt)).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });
});
