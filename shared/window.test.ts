import { describe, expect, it } from 'vitest';
import {
  WINDOW_MS,
  aggregateId,
  aggregateVersion,
  isWindowFinal,
  watermarkOf,
  windowEndOf,
  windowStartIso,
  windowStartOf,
} from './window.ts';

const MINUTE = Date.parse('2024-05-01T12:34:00.000Z');

describe('windowStartOf / windowStartIso', () => {
  it('uses 1-minute windows', () => {
    expect(WINDOW_MS).toBe(60_000);
  });

  it('keeps an exact minute as its own start', () => {
    expect(windowStartOf(MINUTE)).toBe(MINUTE);
    expect(windowStartOf(0)).toBe(0);
    expect(windowStartIso('2024-05-01T12:34:00.000Z')).toBe('2024-05-01T12:34:00.000Z');
  });

  it('puts the last millisecond of a minute in that minute', () => {
    expect(windowStartOf(MINUTE + 59_999)).toBe(MINUTE);
    expect(windowStartOf(MINUTE - 1)).toBe(MINUTE - 60_000);
    expect(windowStartIso('2024-05-01T12:34:59.999Z')).toBe('2024-05-01T12:34:00.000Z');
    expect(windowStartIso('2024-05-01T12:33:59.999Z')).toBe('2024-05-01T12:33:00.000Z');
  });

  it('rolls over hours and days', () => {
    expect(windowStartIso('2024-12-31T23:59:59.999Z')).toBe('2024-12-31T23:59:00.000Z');
    expect(windowStartIso('2025-01-01T00:00:00.000Z')).toBe('2025-01-01T00:00:00.000Z');
  });

  it('ends a window one minute after its start', () => {
    expect(windowEndOf(MINUTE)).toBe(MINUTE + 60_000);
  });
});

describe('aggregateId', () => {
  it('is stable for the same cell and differs between cells', () => {
    const id = aggregateId('2024-05-01T12:34:00.000Z', 'purchase', 'EU');
    expect(aggregateId('2024-05-01T12:34:00.000Z', 'purchase', 'EU')).toBe(id);
    expect(aggregateId('2024-05-01T12:35:00.000Z', 'purchase', 'EU')).not.toBe(id);
    expect(aggregateId('2024-05-01T12:34:00.000Z', 'view', 'EU')).not.toBe(id);
    expect(aggregateId('2024-05-01T12:34:00.000Z', 'purchase', 'US')).not.toBe(id);
  });
});

describe('aggregateVersion', () => {
  it('grows with the count', () => {
    expect(aggregateVersion(1, false)).toBeGreaterThan(aggregateVersion(0, false));
    expect(aggregateVersion(11, false)).toBeGreaterThan(aggregateVersion(10, false));
    expect(aggregateVersion(11, true)).toBeGreaterThan(aggregateVersion(10, true));
  });

  it('ranks final above open with the same count, and below open with one more event', () => {
    for (const count of [0, 1, 7, 1000]) {
      expect(aggregateVersion(count, true)).toBeGreaterThan(aggregateVersion(count, false));
      expect(aggregateVersion(count, true)).toBeLessThan(aggregateVersion(count + 1, false));
    }
  });

  it('is a non-negative integer (Elasticsearch external versions are longs)', () => {
    expect(aggregateVersion(0, false)).toBe(0);
    expect(Number.isInteger(aggregateVersion(12345, true))).toBe(true);
  });
});

describe('watermarkOf', () => {
  it('is undefined before any event was indexed', () => {
    expect(watermarkOf(undefined, MINUTE, 30_000)).toBeUndefined();
  });

  it('is the latest event time minus the lateness', () => {
    expect(watermarkOf(MINUTE, MINUTE + 5_000, 30_000)).toBe(MINUTE - 30_000);
  });

  it('is capped by the wall clock when events come from the future', () => {
    expect(watermarkOf(MINUTE + 600_000, MINUTE, 30_000)).toBe(MINUTE - 30_000);
  });
});

describe('isWindowFinal', () => {
  const end = MINUTE + 60_000;

  it('is final when the watermark equals the window end', () => {
    expect(isWindowFinal(MINUTE, end)).toBe(true);
  });

  it('is final past the end and open one millisecond before it', () => {
    expect(isWindowFinal(MINUTE, end + 1)).toBe(true);
    expect(isWindowFinal(MINUTE, end - 1)).toBe(false);
  });

  it('is open without a watermark', () => {
    expect(isWindowFinal(MINUTE, undefined)).toBe(false);
  });
});
