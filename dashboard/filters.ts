/**
 * The filters every number of the page follows: a range of whole minutes ending with the
 * current window, and optionally one region and one event type. The same names are the
 * page's URL query and `/api/summary`'s, so a view can be shared as a link.
 */
import { Type, type Static, type TUnsafe } from '@sinclair/typebox';
import { EVENT_TYPES, REGIONS } from '../shared/schemas.ts';

export const MAX_MINUTES = 24 * 60;
export const DEFAULT_MINUTES = 60;
/** The ranges the page offers; a link may carry any other whole number of minutes up to MAX_MINUTES. */
export const RANGE_CHOICES = [15, 30, 60, 180, 720, 1440] as const;

const oneOf = <const T extends readonly string[]>(values: T): TUnsafe<T[number]> => Type.Unsafe<T[number]>({ type: 'string', enum: [...values] });

/** `/api/summary`'s query: an unknown region or event type is a 400, not an empty page. */
export const SummaryQuery = Type.Object(
  {
    minutes: Type.Integer({ minimum: 1, maximum: MAX_MINUTES, default: DEFAULT_MINUTES }),
    region: Type.Optional(oneOf(REGIONS)),
    event_type: Type.Optional(oneOf(EVENT_TYPES)),
  },
  { additionalProperties: false },
);
export type Filters = Static<typeof SummaryQuery>;

/** One cache entry per distinct view. */
export function filtersKey(filters: Filters): string {
  return `${filters.minutes}|${filters.region ?? ''}|${filters.event_type ?? ''}`;
}

/** Term filters of the chosen region and event type, for either index (both map them as keywords). */
export function termFilters(filters: Filters): { term: Record<string, string> }[] {
  return [
    ...(filters.region ? [{ term: { region: filters.region } }] : []),
    ...(filters.event_type ? [{ term: { event_type: filters.event_type } }] : []),
  ];
}
