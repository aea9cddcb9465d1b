import { describe, expect, it } from 'vitest';
import {
  DEVICES,
  EVENT_TYPES,
  EnrichedEventSchema,
  GENERATE_LIMITS,
  GenerateRequestSchema,
  REGIONS,
  RawEventSchema,
  WindowTouchedSchema,
  type RawEvent,
} from './schemas.ts';
import { validator } from './validation.ts';
import { enrichedRawEvent, rawEvent } from '../test/helpers.ts';

const isRawEvent = validator(RawEventSchema);
const isGenerateRequest = validator(GenerateRequestSchema);

const valid = rawEvent();

function withField(field: string, value: unknown): Record<string, unknown> {
  return { ...valid, [field]: value };
}

function without(field: keyof RawEvent): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...valid };
  delete copy[field];
  return copy;
}

describe('RawEventSchema', () => {
  it('accepts a valid event', () => {
    expect(isRawEvent(valid)).toBe(true);
    expect(isRawEvent.issues(valid)).toEqual([]);
  });

  it('accepts every event type, region and device', () => {
    for (const event_type of EVENT_TYPES) expect(isRawEvent({ ...valid, event_type })).toBe(true);
    for (const region of REGIONS) expect(isRawEvent({ ...valid, region })).toBe(true);
    for (const device of DEVICES) expect(isRawEvent({ ...valid, device })).toBe(true);
  });

  it('accepts the bounds of every integer range', () => {
    for (const [field, low, high] of [
      ['user_id', 1000, 9999],
      ['session_id', 10000, 99999],
      ['product_id', 100, 999],
      ['quantity', 1, 5],
    ] as const) {
      expect(isRawEvent(withField(field, low))).toBe(true);
      expect(isRawEvent(withField(field, high))).toBe(true);
    }
  });

  it.each([
    ['event_id', 'not-a-uuid'],
    ['event_id', '0b5e8d8a3f1c4e2b9a7d6c5b4a3f2e1d'],
    ['event_id', ''],
    ['timestamp', '2024-05-01T12:34:56.789'], // no zone
    ['timestamp', '2024-05-01T12:34:56.789+00:00'], // offset instead of Z
    ['timestamp', '2024-05-01T12:34:56Z'], // no milliseconds
    ['timestamp', '2024-05-01T12:34:56.78Z'], // two fraction digits
    ['timestamp', '2024-05-01T12:34:56.789123Z'], // microseconds
    ['timestamp', '2024-13-01T12:34:56.789Z'], // no month 13
    ['timestamp', '2024-02-30T12:34:56.789Z'], // no 30 February
    ['timestamp', 1714566896789],
    ['user_id', 999],
    ['user_id', 10000],
    ['user_id', 4242.5],
    ['user_id', '4242'],
    ['session_id', 9999],
    ['session_id', 100000],
    ['product_id', 99],
    ['product_id', 1000],
    ['quantity', 0],
    ['quantity', 6],
    ['quantity', 1.5],
    ['price', 9.99],
    ['price', 1000.01],
    ['price', 10.005],
    ['price', 19.999],
    ['price', '19.99'],
    ['event_type', 'checkout'],
    ['event_type', 'PURCHASE'],
    ['region', 'AFRICA'],
    ['device', 'watch'],
  ])('rejects %s = %j, naming the field', (field, value) => {
    const event = withField(field, value);
    expect(isRawEvent(event)).toBe(false);
    const issues = isRawEvent.issues(event);
    expect(issues.length).toBeGreaterThan(0);
    expect(issues.map((i) => i.path)).toContain(`/${field}`);
    for (const issue of issues) expect(issue.message).not.toBe('');
  });

  it('rejects a leap second (23:59:60), which the format allows but Date.parse cannot read', () => {
    // ajv-formats' date-time accepts second 60; Date.parse answers NaN, and downstream
    // windowStartIso / enrichEvent then throw RangeError (a 500, retried) instead of a 400.
    const timestamp = '2016-12-31T23:59:60.000Z';
    expect(Number.isNaN(Date.parse(timestamp))).toBe(true);
    expect(isRawEvent(withField('timestamp', timestamp))).toBe(false);
  });

  it('accepts prices with two decimals despite float noise', () => {
    for (const price of [10, 10.1, 19.99, 0.29 * 100, 1000, 10.01, 33.33, 99.99, 999.99]) {
      expect(isRawEvent(withField('price', price)), `price ${price}`).toBe(true);
    }
  });

  it('accepts every two-decimal price from 10.00 to 1000.00', () => {
    const rejected: number[] = [];
    for (let cents = 1000; cents <= 100_000; cents++) {
      if (!isRawEvent(withField('price', cents / 100))) rejected.push(cents);
    }
    expect(rejected).toEqual([]);
  });

  it('lists the allowed values of an unknown event_type', () => {
    const issues = isRawEvent.issues(withField('event_type', 'checkout'));
    expect(issues).toEqual([{ path: '/event_type', message: expect.stringContaining('click, view, purchase, search') }]);
  });

  it('rejects an extra property and names it', () => {
    const issues = isRawEvent.issues({ ...valid, coupon: 'SAVE10' });
    expect(isRawEvent({ ...valid, coupon: 'SAVE10' })).toBe(false);
    expect(issues).toEqual([{ path: '/', message: expect.stringContaining('coupon') }]);
  });

  it('names a missing property by path /<name>', () => {
    expect(isRawEvent.issues(without('price'))).toEqual([{ path: '/price', message: 'is required' }]);
    expect(isRawEvent.issues(without('event_id'))).toEqual([{ path: '/event_id', message: 'is required' }]);
  });

  it('reports every problem at once', () => {
    const issues = isRawEvent.issues({ ...valid, quantity: 9, region: 'MARS', price: 10.005 });
    expect(issues.map((i) => i.path).sort()).toEqual(['/price', '/quantity', '/region']);
  });

  it('rejects what is not an object', () => {
    expect(isRawEvent(null)).toBe(false);
    expect(isRawEvent([valid])).toBe(false);
    expect(isRawEvent(JSON.stringify(valid))).toBe(false);
  });
});

describe('EnrichedEventSchema', () => {
  const enriched = enrichedRawEvent();
  const isEnriched = validator(EnrichedEventSchema);

  it('accepts an enriched event and rejects a raw one', () => {
    expect(isEnriched(enriched)).toBe(true);
    expect(isEnriched(valid)).toBe(false);
  });

  it('requires integer cents and a UTC hour', () => {
    expect(isEnriched({ ...enriched, revenue_cents: 59.97 })).toBe(false);
    expect(isEnriched({ ...enriched, revenue_cents: -1 })).toBe(false);
    expect(isEnriched({ ...enriched, price_cents: 19.99 })).toBe(false);
    expect(isEnriched({ ...enriched, hour_of_day: 24 })).toBe(false);
    expect(isEnriched({ ...enriched, window_start: '2026-11-24T12:00:00Z' })).toBe(false);
    expect(isEnriched({ ...enriched, category: '' })).toBe(false);
  });
});

describe('GenerateRequestSchema', () => {
  it('accepts the documented forms', () => {
    expect(isGenerateRequest({})).toBe(true);
    expect(isGenerateRequest({ count: 100 })).toBe(true);
    expect(isGenerateRequest({ ratePerSecond: 0.5, durationSeconds: 10 })).toBe(true);
    expect(isGenerateRequest({ count: 1, seed: 0, startTime: '2024-05-01T12:00:00.000Z' })).toBe(true);
  });

  it('accepts the limits themselves', () => {
    expect(isGenerateRequest({ count: GENERATE_LIMITS.maxCount })).toBe(true);
    expect(isGenerateRequest({ ratePerSecond: GENERATE_LIMITS.maxRatePerSecond, durationSeconds: GENERATE_LIMITS.maxDurationSeconds })).toBe(true);
    expect(isGenerateRequest({ count: 1, seed: 0xffffffff })).toBe(true);
  });

  it.each([
    ['count', 0],
    ['count', GENERATE_LIMITS.maxCount + 1],
    ['count', 1.5],
    ['ratePerSecond', 0],
    ['ratePerSecond', -1],
    ['ratePerSecond', GENERATE_LIMITS.maxRatePerSecond + 1],
    ['durationSeconds', 0],
    ['durationSeconds', GENERATE_LIMITS.maxDurationSeconds + 1],
    ['seed', -1],
    ['seed', 0x1_0000_0000],
    ['seed', 1.5],
    ['startTime', '2024-05-01T12:00:00Z'],
    ['startTime', 'yesterday'],
  ])('rejects %s = %j', (field, value) => {
    const request = { [field]: value };
    expect(isGenerateRequest(request)).toBe(false);
    expect(isGenerateRequest.issues(request).map((i) => i.path)).toContain(`/${field}`);
  });

  it('rejects unknown properties', () => {
    expect(isGenerateRequest({ count: 1, rate: 5 })).toBe(false);
  });
});

describe('WindowTouchedSchema', () => {
  it('accepts a window start and nothing else', () => {
    const isTouched = validator(WindowTouchedSchema);
    expect(isTouched({ window_start: '2024-05-01T12:34:00.000Z' })).toBe(true);
    expect(isTouched({ window_start: '2024-05-01T12:34:00.000Z', extra: 1 })).toBe(false);
    expect(isTouched({})).toBe(false);
  });
});
