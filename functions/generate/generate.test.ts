import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { validate as isUuid, version as uuidVersion } from 'uuid';
import { ErrorCode, PipelineError } from '../../shared/errors.ts';
import { GENERATE_LIMITS, GenerateRequestSchema, RawEventSchema, type GenerateRequest, type RawEvent } from '../../shared/schemas.ts';
import { validator } from '../../shared/validation.ts';
import { thrownBy } from '../../test/helpers.ts';
import {
  eventIdOf,
  eventTimeMs,
  generateEvents,
  planFromRequest,
  planFromTick,
  type GenerationPlan,
  type RequestIdentity,
} from './generate.ts';

const isRawEvent = validator(RawEventSchema);
const isGenerateRequest = validator(GenerateRequestSchema);

const NOW = Date.parse('2025-06-01T12:00:00.000Z');
const NOW_ISO = new Date(NOW).toISOString();
const ce: RequestIdentity = { source: '/test/load', id: 'req-1', time: NOW_ISO };

const pipelineErrorOf = (fn: () => unknown) => thrownBy(PipelineError, fn);

function eventsOf(plan: GenerationPlan): RawEvent[] {
  return [...generateEvents(plan)];
}

function withoutIds(events: RawEvent[]): Omit<RawEvent, 'event_id'>[] {
  return events.map(({ event_id: _id, ...rest }) => rest);
}

describe('planFromRequest', () => {
  it('spreads a plain count over one second, anchored at the request time', () => {
    const plan = planFromRequest({ count: 10 }, ce, NOW);
    expect(plan).toMatchObject({ requestSource: '/test/load', requestId: 'req-1', total: 10, ratePerSecond: 10, anchorMs: NOW });
    expect(Number.isInteger(plan.seed)).toBe(true);
    expect(eventTimeMs(plan, 0)).toBe(NOW);
    expect(eventTimeMs(plan, 9)).toBe(NOW + 900);
    expect(eventTimeMs(plan, 9)).toBeLessThan(NOW + 1000);
  });

  it('takes rate × duration events at the given rate', () => {
    const plan = planFromRequest({ ratePerSecond: 5, durationSeconds: 60 }, ce, NOW);
    expect(plan.total).toBe(300);
    expect(plan.ratePerSecond).toBe(5);
    const fractional = planFromRequest({ ratePerSecond: 0.5, durationSeconds: 10 }, ce, NOW);
    expect(fractional.total).toBe(5);
    expect(eventTimeMs(fractional, 4)).toBe(NOW + 8000);
  });

  it('prefers data.startTime over the CloudEvent time, and needs no CloudEvent time with it', () => {
    const startTime = new Date(NOW - 3_600_000).toISOString();
    expect(planFromRequest({ count: 1, startTime }, ce, NOW).anchorMs).toBe(NOW - 3_600_000);
    expect(planFromRequest({ count: 1, startTime }, { source: 's', id: 'i' }, NOW).anchorMs).toBe(NOW - 3_600_000);
  });

  it('uses the given seed', () => {
    expect(planFromRequest({ count: 1, seed: 7 }, ce, NOW).seed).toBe(7);
    expect(planFromRequest({ count: 1, seed: 0 }, ce, NOW).seed).toBe(0);
  });

  it.each<[string, GenerateRequest]>([
    ['neither count nor rate', {}],
    ['count and rate', { count: 5, ratePerSecond: 1, durationSeconds: 5 }],
    ['count and duration', { count: 5, durationSeconds: 5 }],
  ])('answers 400 for %s', (_name, request) => {
    const error = pipelineErrorOf(() => planFromRequest(request, ce, NOW));
    expect(error.statusCode).toBe(400);
    expect(error.code).toBe(ErrorCode.invalidData);
  });

  it('answers 400 naming the missing half of rate + duration', () => {
    const noDuration = pipelineErrorOf(() => planFromRequest({ ratePerSecond: 5 }, ce, NOW));
    expect(noDuration.statusCode).toBe(400);
    expect(noDuration.details).toEqual([{ path: '/durationSeconds', message: 'is required' }]);
    const noRate = pipelineErrorOf(() => planFromRequest({ durationSeconds: 5 }, ce, NOW));
    expect(noRate.statusCode).toBe(400);
    expect(noRate.details).toEqual([{ path: '/ratePerSecond', message: 'is required' }]);
  });

  it.each<[string, GenerateRequest]>([
    ['rate × duration above the total cap', { ratePerSecond: GENERATE_LIMITS.maxRatePerSecond, durationSeconds: GENERATE_LIMITS.maxDurationSeconds }],
    ['a count above the total cap', { count: GENERATE_LIMITS.maxTotalEvents + 1 }],
    ['rate × duration rounding to no event', { ratePerSecond: 0.1, durationSeconds: 1 }],
    ['a count of 0', { count: 0 }],
  ])('answers 400 for %s', (_name, request) => {
    const error = pipelineErrorOf(() => planFromRequest(request, ce, NOW));
    expect(error.statusCode).toBe(400);
    expect(error.code).toBe(ErrorCode.overLimit);
  });

  it('accepts exactly the total cap', () => {
    expect(planFromRequest({ ratePerSecond: 1000, durationSeconds: 1000 }, ce, NOW).total).toBe(1_000_000);
  });

  it('answers 400 when neither a CloudEvent time nor a startTime anchors the events', () => {
    const error = pipelineErrorOf(() => planFromRequest({ count: 1 }, { source: 's', id: 'i' }, NOW));
    expect(error.statusCode).toBe(400);
    expect(error.code).toBe(ErrorCode.invalidData);
    const undefinedTime = pipelineErrorOf(() => planFromRequest({ count: 1 }, { source: 's', id: 'i', time: undefined }, NOW));
    expect(undefinedTime.statusCode).toBe(400);
  });

  it.each([
    ['24 h in the past', -86_400_000, -1],
    ['60 s in the future', 60_000, 1],
  ])('accepts a start exactly %s and answers 400 one millisecond beyond', (_name, edgeMs, beyondMs) => {
    const edge = new Date(NOW + edgeMs).toISOString();
    expect(planFromRequest({ count: 1, startTime: edge }, ce, NOW).anchorMs).toBe(NOW + edgeMs);
    const beyond = new Date(NOW + edgeMs + beyondMs).toISOString();
    const error = pipelineErrorOf(() => planFromRequest({ count: 1, startTime: beyond }, ce, NOW));
    expect(error.statusCode).toBe(400);
    expect(error.code).toBe(ErrorCode.overLimit);
    const beyondCeTime = pipelineErrorOf(() => planFromRequest({ count: 1 }, { ...ce, time: beyond }, NOW));
    expect(beyondCeTime.statusCode).toBe(400);
  });

  it('accepts a CloudEvent time with a zone offset', () => {
    expect(planFromRequest({ count: 1 }, { ...ce, time: '2025-06-01T14:00:00+02:00' }, NOW).anchorMs).toBe(NOW);
  });

  it('answers 400 for an anchor time that Date.parse cannot read (leap second 23:59:60)', () => {
    // RFC 3339 allows second 60 but Date.parse cannot read it: the schema refuses it in
    // startTime, and a ce-time that carries it is refused here rather than failing later.
    const leap = '2025-05-31T23:59:60.000Z';
    expect(isGenerateRequest({ count: 1, startTime: leap })).toBe(false);
    const error = pipelineErrorOf(() => planFromRequest({ count: 1 }, { ...ce, time: leap }, NOW));
    expect(error.statusCode).toBe(400);
  });
});

describe('planFromTick', () => {
  it('asks for 60 events at 1/s anchored at the tick time', () => {
    const tickTime = '2025-06-01T11:59:00.000Z';
    const plan = planFromTick({ source: '/ping/generate', id: 'tick-1', time: tickTime }, NOW);
    expect(plan).toMatchObject({ requestSource: '/ping/generate', requestId: 'tick-1', total: 60, ratePerSecond: 1, anchorMs: Date.parse(tickTime) });
    const events = eventsOf(plan);
    expect(events).toHaveLength(60);
    expect(events[0]?.timestamp).toBe(tickTime);
    expect(events[59]?.timestamp).toBe('2025-06-01T11:59:59.000Z');
  });

  it('anchors at now when the tick carries no time', () => {
    const plan = planFromTick({ source: '/ping/generate', id: 'tick-2' }, NOW);
    expect(plan.anchorMs).toBe(NOW);
    expect(plan.total).toBe(60);
  });
});

describe('eventIdOf', () => {
  it('is a deterministic UUID v5', () => {
    const id = eventIdOf('/test/load', 'req-1', 0);
    expect(isUuid(id)).toBe(true);
    expect(uuidVersion(id)).toBe(5);
    expect(eventIdOf('/test/load', 'req-1', 0)).toBe(id);
    // Pinned: a request retried after a new release must still reproduce the ids it produced.
    expect(id).toBe('cab12f10-fe60-5ee6-b413-58cf14791750');
  });

  it('differs by source, id and index', () => {
    const ids = new Set([
      eventIdOf('/test/load', 'req-1', 0),
      eventIdOf('/test/other', 'req-1', 0),
      eventIdOf('/test/load', 'req-2', 0),
      eventIdOf('/test/load', 'req-1', 1),
      eventIdOf('/test/load', 'req-11', 0),
      eventIdOf('/test/load', 'req-1', 10),
    ]);
    expect(ids.size).toBe(6);
  });
});

describe('generateEvents', () => {
  const plan = planFromRequest({ ratePerSecond: 4, durationSeconds: 250 }, ce, NOW);
  const events = eventsOf(plan);

  it('yields the planned number of events', () => {
    expect(events).toHaveLength(1000);
  });

  it('yields identical events for the same plan', () => {
    expect(eventsOf(plan)).toEqual(events);
    expect(eventsOf(planFromRequest({ ratePerSecond: 4, durationSeconds: 250 }, { ...ce }, NOW))).toEqual(events);
  });

  it('yields only schema-valid events', () => {
    expect(events.flatMap((event) => isRawEvent.issues(event))).toEqual([]);
  });

  it('anchors the times at the plan and spaces them evenly at the rate', () => {
    expect(events.map((e) => e.timestamp)).toEqual(Array.from({ length: 1000 }, (_, i) => new Date(NOW + i * 250).toISOString()));
  });

  it('spaces a plain count evenly over one second', () => {
    const spread = eventsOf(planFromRequest({ count: 3 }, ce, NOW)).map((e) => Date.parse(e.timestamp) - NOW);
    expect(spread).toEqual([0, 333, 666]);
  });

  it('gives unique ids, each the eventIdOf its index', () => {
    expect(new Set(events.map((e) => e.event_id)).size).toBe(events.length);
    expect(events.map((e) => e.event_id)).toEqual(Array.from({ length: 1000 }, (_, i) => eventIdOf(ce.source, ce.id, i)));
  });

  it('varies its field values (every event type, region and device shows up)', () => {
    expect(new Set(events.map((e) => e.event_type))).toEqual(new Set(['click', 'view', 'purchase', 'search']));
    expect(new Set(events.map((e) => e.region))).toEqual(new Set(['US', 'EU', 'ASIA', 'SA']));
    expect(new Set(events.map((e) => e.device))).toEqual(new Set(['mobile', 'desktop', 'tablet']));
    expect(new Set(events.map((e) => e.user_id)).size).toBeGreaterThan(500);
  });

  it('gives the same field values for the same seed, even for another request, but other ids', () => {
    const a = eventsOf(planFromRequest({ count: 50, seed: 42 }, { source: '/a', id: 'one', time: NOW_ISO }, NOW));
    const b = eventsOf(planFromRequest({ count: 50, seed: 42 }, { source: '/b', id: 'two', time: NOW_ISO }, NOW));
    expect(withoutIds(b)).toEqual(withoutIds(a));
    expect(b.filter((event, i) => event.event_id === a[i]!.event_id)).toEqual([]);
  });

  it('gives other field values for another seed', () => {
    const a = eventsOf(planFromRequest({ count: 50, seed: 42 }, ce, NOW));
    const b = eventsOf(planFromRequest({ count: 50, seed: 43 }, ce, NOW));
    expect(withoutIds(b)).not.toEqual(withoutIds(a));
  });

  it('derives a different default seed for each request', () => {
    const one = planFromRequest({ count: 50 }, { ...ce, id: 'req-a' }, NOW);
    const two = planFromRequest({ count: 50 }, { ...ce, id: 'req-b' }, NOW);
    const three = planFromRequest({ count: 50 }, { ...ce, source: '/other' }, NOW);
    expect(new Set([one.seed, two.seed, three.seed]).size).toBe(3);
    expect(withoutIds(eventsOf(two))).not.toEqual(withoutIds(eventsOf(one)));
    // ...but the same request keeps its seed (a retry reproduces its events).
    expect(planFromRequest({ count: 50 }, { ...ce, id: 'req-a' }, NOW + 5000).seed).toBe(one.seed);
  });

  it('yields schema-valid, unique, evenly timed events for any valid request (property)', () => {
    const countRequest = fc.record({ count: fc.integer({ min: 1, max: 300 }) });
    const rateRequest = fc.record({
      ratePerSecond: fc.double({ min: 0.01, max: 300, noNaN: true, noDefaultInfinity: true }),
      durationSeconds: fc.double({ min: 0.01, max: 60, noNaN: true, noDefaultInfinity: true }),
    });
    fc.assert(
      fc.property(
        fc.oneof(countRequest, rateRequest),
        fc.option(fc.integer({ min: 0, max: 0xffffffff }), { nil: undefined }),
        fc.integer({ min: -GENERATE_LIMITS.maxBackfillMs, max: 60_000 }),
        fc.string({ minLength: 1, maxLength: 20 }),
        fc.string({ minLength: 1, maxLength: 20 }),
        (shape, seed, offsetMs, source, id) => {
          const request: GenerateRequest = { ...shape, ...(seed === undefined ? {} : { seed }) };
          if ('ratePerSecond' in shape) fc.pre(Math.round(shape.ratePerSecond * shape.durationSeconds) >= 1 && Math.round(shape.ratePerSecond * shape.durationSeconds) <= 300);
          expect(isGenerateRequest(request)).toBe(true);
          const p = planFromRequest(request, { source, id, time: new Date(NOW + offsetMs).toISOString() }, NOW);
          const generated = eventsOf(p);
          expect(generated).toHaveLength(p.total);
          const ids = new Set<string>();
          let previous = -Infinity;
          for (const event of generated) {
            expect(isRawEvent.issues(event)).toEqual([]);
            ids.add(event.event_id);
            const t = Date.parse(event.timestamp);
            expect(t).toBeGreaterThanOrEqual(previous);
            previous = t;
          }
          expect(ids.size).toBe(generated.length);
          expect(Date.parse(generated[0]!.timestamp)).toBe(NOW + offsetMs);
        },
      ),
      { numRuns: 200 },
    );
  });
});
