import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PipelineError } from '../../shared/errors.ts';
import type { RawEvent } from '../../shared/schemas.ts';
import { enrichEvent } from '../enrich/enrich.ts';
import { assertWindowStartMatches } from './checks.ts';

const raw: RawEvent = {
  event_id: '00000000-0000-4000-8000-000000000001',
  timestamp: '2024-05-01T12:34:56.789Z',
  user_id: 1234,
  session_id: 23456,
  event_type: 'purchase',
  product_id: 123,
  price: 19.99,
  quantity: 3,
  region: 'EU',
  device: 'mobile',
};

function problem(event: { event_id: string; timestamp: string; window_start: string }): PipelineError | undefined {
  try {
    assertWindowStartMatches(event);
    return undefined;
  } catch (error) {
    return error as PipelineError;
  }
}

describe('assertWindowStartMatches', () => {
  it('accepts the start of the UTC minute of the timestamp, at both ends of the minute', () => {
    for (const timestamp of ['2024-05-01T12:34:00.000Z', '2024-05-01T12:34:59.999Z']) {
      expect(problem({ event_id: 'e', timestamp, window_start: '2024-05-01T12:34:00.000Z' })).toBeUndefined();
    }
  });

  it('accepts every event enrich produces', () => {
    const times = fc.integer({ min: Date.parse('2000-01-01T00:00:00.000Z'), max: Date.parse('2099-12-31T23:59:59.999Z') });
    fc.assert(
      fc.property(times, (ms) => {
        expect(problem(enrichEvent({ ...raw, timestamp: new Date(ms).toISOString() }, ms))).toBeUndefined();
      }),
    );
  });

  it.each([
    ['another minute', '2024-05-01T12:35:00.000Z'],
    ['the minute before', '2024-05-01T12:33:00.000Z'],
    ['not a minute start', '2024-05-01T12:34:30.000Z'],
    ['the timestamp itself', '2024-05-01T12:34:56.789Z'],
    ['another hour', '2024-05-01T13:34:00.000Z'],
  ])('refuses %s with a 400 naming the expected window', (_, window_start) => {
    const error = problem({ event_id: 'e1', timestamp: '2024-05-01T12:34:56.789Z', window_start });
    expect(error).toBeInstanceOf(PipelineError);
    expect(error!.statusCode).toBe(400);
    expect(error!.code).toBe('BDP_ERR_INVALID_DATA');
    expect(error!.message).toContain('expected 2024-05-01T12:34:00.000Z');
    expect(error!.details).toEqual([{ path: '/window_start', message: 'must be 2024-05-01T12:34:00.000Z, the start of the UTC minute of timestamp' }]);
  });
});
