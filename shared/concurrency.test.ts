import { describe, expect, it } from 'vitest';
import { AdaptiveLimit } from './concurrency.ts';

describe('AdaptiveLimit', () => {
  it('grows by one after `limit` good batches in a row, up to max', () => {
    const l = new AdaptiveLimit({ initial: 1, max: 3, slowMs: 100 });
    const after: number[] = [];
    for (let i = 0; i < 8; i++) {
      l.record(10, false);
      after.push(l.limit);
    }
    // 1 good → 2; 2 more → 3; then capped.
    expect(after).toEqual([2, 2, 3, 3, 3, 3, 3, 3]);
  });

  it('halves on an overloaded or slow batch, never below min, and starts counting good batches again', () => {
    const l = new AdaptiveLimit({ initial: 4, min: 1, max: 8, slowMs: 100 });
    l.record(10, true);
    expect(l.limit).toBe(2);
    l.record(101, false);
    expect(l.limit).toBe(1);
    l.record(500, false);
    expect(l.limit).toBe(1);
    l.record(100, false);
    expect(l.limit).toBe(2);
    l.record(10, false);
    expect(l.limit).toBe(2);
    l.record(10, false);
    expect(l.limit).toBe(3);
  });

  it.each([
    [{ min: 0, max: 2, slowMs: 1 }],
    [{ min: 3, max: 2, slowMs: 1 }],
    [{ max: 2, slowMs: 1, backoff: 1 }],
  ])('refuses %o', (options) => {
    expect(() => new AdaptiveLimit(options)).toThrow(RangeError);
  });
});
