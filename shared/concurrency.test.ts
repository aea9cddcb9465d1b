import fc from 'fast-check';
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
    const batches: [latencyMs: number, overloaded: boolean][] = [[10, true], [101, false], [500, false], [100, false], [10, false], [10, false]];
    const after = batches.map(([latencyMs, overloaded]) => {
      l.record(latencyMs, overloaded);
      return l.limit;
    });
    // Overloaded: 4 → 2; slower than 100 ms: → 1, and not below; 100 ms is not slow: 1 good → 2; 2 more → 3.
    expect(after).toEqual([2, 1, 1, 2, 2, 3]);
  });

  it('stays between min and max whatever the batches say (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 0, max: 10 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 300 }), fc.boolean()), { maxLength: 100 }),
        (min, span, batches) => {
          const l = new AdaptiveLimit({ initial: min + span, min, max: min + span, slowMs: 100 });
          for (const [latencyMs, overloaded] of batches) {
            l.record(latencyMs, overloaded);
            expect(l.limit).toBeGreaterThanOrEqual(min);
            expect(l.limit).toBeLessThanOrEqual(min + span);
            expect(Number.isInteger(l.limit)).toBe(true);
          }
        },
      ),
    );
  });

  it.each([
    [{ min: 0, max: 2, slowMs: 1 }],
    [{ min: 3, max: 2, slowMs: 1 }],
    [{ max: 2, slowMs: 1, backoff: 1 }],
  ])('refuses %o', (options) => {
    expect(() => new AdaptiveLimit(options)).toThrow(RangeError);
  });
});
