/**
 * One definition per event kind gives both the TypeScript type (Static<>) and the
 * JSON Schema used to validate at every function's door.
 */
import { Type, type Static, type TUnsafe } from '@sinclair/typebox';
import { BRANDS, CATEGORIES } from './catalog.ts';

export const EVENT_TYPES = ['click', 'view', 'purchase', 'search'] as const;
export const REGIONS = ['US', 'EU', 'ASIA', 'SA'] as const;
export const DEVICES = ['mobile', 'desktop', 'tablet'] as const;

/** A string enum as plain JSON Schema `enum` (clearer validation errors than a union of literals). */
function StringEnum<const T extends readonly string[]>(values: T): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values] });
}

/**
 * RFC 3339 in UTC with a `Z` and exactly three fraction digits: what Date#toISOString prints.
 * No leap second (:60): Date.parse cannot read it.
 */
export const UTC_MILLIS_PATTERN = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:[0-5]\\d:[0-5]\\d\\.\\d{3}Z$';
const UtcMillis = Type.String({ format: 'date-time', pattern: UTC_MILLIS_PATTERN });

const rawEventFields = {
  event_id: Type.String({ format: 'uuid' }),
  timestamp: UtcMillis,
  user_id: Type.Integer({ minimum: 1000, maximum: 9999 }),
  session_id: Type.Integer({ minimum: 10000, maximum: 99999 }),
  event_type: StringEnum(EVENT_TYPES),
  product_id: Type.Integer({ minimum: 100, maximum: 999 }),
  price: Type.Number({ minimum: 10, maximum: 1000, multipleOf: 0.01 }),
  quantity: Type.Integer({ minimum: 1, maximum: 5 }),
  region: StringEnum(REGIONS),
  device: StringEnum(DEVICES),
};

export const RawEventSchema = Type.Object(rawEventFields, { additionalProperties: false, $id: 'RawEvent' });
export type RawEvent = Static<typeof RawEventSchema>;

export const EnrichedEventSchema = Type.Object(
  {
    ...rawEventFields,
    price_cents: Type.Integer({ minimum: 1000, maximum: 100000 }),
    revenue_cents: Type.Integer({ minimum: 0, maximum: 500000 }),
    window_start: UtcMillis,
    // From the catalog's sets: nothing else can be derived from a product_id.
    category: StringEnum(CATEGORIES),
    brand: StringEnum(BRANDS),
    hour_of_day: Type.Integer({ minimum: 0, maximum: 23 }),
    enriched_at: UtcMillis,
  },
  { additionalProperties: false, $id: 'EnrichedEvent' },
);
export type EnrichedEvent = Static<typeof EnrichedEventSchema>;

/** Limits of one generate.request; above them the request is answered 400. */
export const GENERATE_LIMITS = {
  maxCount: 100_000,
  maxRatePerSecond: 10_000,
  maxDurationSeconds: 900,
  maxTotalEvents: 1_000_000,
  /** How far back `startTime` may reach (backfill). */
  maxBackfillMs: 24 * 60 * 60 * 1000,
} as const;

export const GenerateRequestSchema = Type.Object(
  {
    count: Type.Optional(Type.Integer({ minimum: 1, maximum: GENERATE_LIMITS.maxCount })),
    ratePerSecond: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: GENERATE_LIMITS.maxRatePerSecond })),
    durationSeconds: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: GENERATE_LIMITS.maxDurationSeconds })),
    seed: Type.Optional(Type.Integer({ minimum: 0, maximum: 0xffffffff })),
    startTime: Type.Optional(UtcMillis),
  },
  { additionalProperties: false, $id: 'GenerateRequest' },
);
export type GenerateRequest = Static<typeof GenerateRequestSchema>;

export const WindowTouchedSchema = Type.Object(
  { window_start: UtcMillis },
  { additionalProperties: false, $id: 'WindowTouched' },
);
export type WindowTouched = Static<typeof WindowTouchedSchema>;

/** A PingSource tick carries whatever its `spec.data` says; the handlers ignore it. */
export const PingSchema = Type.Unsafe<unknown>({ $id: 'Ping', description: 'any data; a tick carries no parameters' });
export type Ping = Static<typeof PingSchema>;
