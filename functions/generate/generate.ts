/**
 * Synthetic shop events, deterministic per request: ids are name-based UUIDs of the
 * request's CloudEvent (source, id) and the event's index, times are anchored to the
 * request's time, and field values come from a PRNG seeded from the request. A retried
 * request therefore reproduces exactly the same events. Pure: no I/O.
 */
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';
import { v5 as uuidv5 } from 'uuid';
import { ErrorCode, badEvent } from '../../shared/errors.ts';
import { DEVICES, GENERATE_LIMITS, REGIONS, type GenerateRequest, type RawEvent } from '../../shared/schemas.ts';

/** Namespace of generated event ids (UUID v5). */
export const EVENT_ID_NAMESPACE = '6f1c8e42-5d0a-4b7e-9c3f-2a8d1e4b7c90';

/** What one PingSource tick asks for: 1 event/s for the next minute. */
export const TICK_DEFAULTS = { ratePerSecond: 1, durationSeconds: 60 } as const;

export interface GenerationPlan {
  /** CloudEvent source + id of the request: the identity the events derive from. */
  requestSource: string;
  requestId: string;
  total: number;
  ratePerSecond: number;
  anchorMs: number;
  seed: number;
}

export interface RequestIdentity {
  source: string;
  id: string;
  /** The request's `time`, if it carried one. */
  time?: string | undefined;
}

export function planFromRequest(request: GenerateRequest, ce: RequestIdentity, nowMs: number): GenerationPlan {
  const hasCount = request.count !== undefined;
  const hasRate = request.ratePerSecond !== undefined || request.durationSeconds !== undefined;
  if (hasCount === hasRate) {
    throw badEvent(ErrorCode.invalidData, 'give either count, or ratePerSecond with durationSeconds', [
      { path: '/', message: 'exactly one of count | ratePerSecond+durationSeconds' },
    ]);
  }
  if (hasRate && (request.ratePerSecond === undefined || request.durationSeconds === undefined)) {
    throw badEvent(ErrorCode.invalidData, 'ratePerSecond and durationSeconds go together', [
      { path: request.ratePerSecond === undefined ? '/ratePerSecond' : '/durationSeconds', message: 'is required' },
    ]);
  }
  const total = hasCount ? request.count! : Math.round(request.ratePerSecond! * request.durationSeconds!);
  if (total < 1 || total > GENERATE_LIMITS.maxTotalEvents) {
    throw badEvent(ErrorCode.overLimit, `a request may produce 1 to ${GENERATE_LIMITS.maxTotalEvents} events, this one asks for ${total}`);
  }
  const anchorIso = request.startTime ?? ce.time;
  if (anchorIso === undefined) {
    throw badEvent(ErrorCode.invalidData, 'the request needs a CloudEvent time (or data.startTime): events are anchored to it so a retry reproduces them', [
      { path: 'time', message: 'is required' },
    ]);
  }
  const anchorMs = Date.parse(anchorIso);
  if (Number.isNaN(anchorMs)) {
    throw badEvent(ErrorCode.invalidData, `start time ${anchorIso} cannot be read as a point in time`, [{ path: request.startTime ? '/startTime' : 'time', message: 'must be a readable RFC 3339 time' }]);
  }
  if (anchorMs < nowMs - GENERATE_LIMITS.maxBackfillMs) {
    throw badEvent(ErrorCode.overLimit, `start time ${anchorIso} is more than 24 h in the past`);
  }
  if (anchorMs > nowMs + 60_000) {
    throw badEvent(ErrorCode.overLimit, `start time ${anchorIso} is more than 60 s in the future`);
  }
  return {
    requestSource: ce.source,
    requestId: ce.id,
    total,
    // A plain count is spread over one second.
    ratePerSecond: hasCount ? total : request.ratePerSecond!,
    anchorMs,
    seed: request.seed ?? seedOf(ce.source, ce.id),
  };
}

export function planFromTick(ce: RequestIdentity, nowMs: number): GenerationPlan {
  return planFromRequest({ ...TICK_DEFAULTS }, { ...ce, time: ce.time ?? new Date(nowMs).toISOString() }, nowMs);
}

export function eventIdOf(requestSource: string, requestId: string, index: number): string {
  return uuidv5(`${requestSource}\n${requestId}\n${index}`, EVENT_ID_NAMESPACE);
}

/** Event time of the i-th event: evenly spaced at the plan's rate from the anchor. */
export function eventTimeMs(plan: GenerationPlan, index: number): number {
  return plan.anchorMs + Math.floor((index * 1000) / plan.ratePerSecond);
}

function seedOf(source: string, id: string): number {
  const bytes = uuidv5(`${source}\n${id}`, EVENT_ID_NAMESPACE).replace(/-/g, '');
  return Number.parseInt(bytes.slice(0, 8), 16);
}

/** Mix of event types in the shop: most views, few purchases. */
const TYPE_WEIGHTS: [RawEvent['event_type'], number][] = [
  ['view', 45],
  ['click', 30],
  ['search', 15],
  ['purchase', 10],
];

function pickWeighted<T>(rng: RandomGenerator, weights: [T, number][]): T {
  const total = weights.reduce((s, [, w]) => s + w, 0);
  let roll = uniformInt(rng, 1, total);
  for (const [value, weight] of weights) {
    roll -= weight;
    if (roll <= 0) return value;
  }
  return weights[weights.length - 1]![0];
}

function pick<T>(rng: RandomGenerator, values: readonly T[]): T {
  return values[uniformInt(rng, 0, values.length - 1)]!;
}

/** Yields the plan's events in order; the same plan always yields the same events. */
export function* generateEvents(plan: GenerationPlan): Generator<RawEvent> {
  const rng = xoroshiro128plus(plan.seed);
  for (let i = 0; i < plan.total; i++) {
    yield {
      event_id: eventIdOf(plan.requestSource, plan.requestId, i),
      timestamp: new Date(eventTimeMs(plan, i)).toISOString(),
      user_id: uniformInt(rng, 1000, 9999),
      session_id: uniformInt(rng, 10000, 99999),
      event_type: pickWeighted(rng, TYPE_WEIGHTS),
      product_id: uniformInt(rng, 100, 999),
      price: uniformInt(rng, 1000, 100000) / 100,
      quantity: uniformInt(rng, 1, 5),
      region: pick(rng, REGIONS),
      device: pick(rng, DEVICES),
    };
  }
}

