import { describe, expect, it } from 'vitest';
import { CLOCK_SKEW_MARGIN_MS, CoveredWindows } from './covered.ts';

const W = Date.parse('2024-05-01T12:34:00.000Z');
const AS_OF = W + 120_000;

describe('CoveredWindows.answer', () => {
  it('answers a notice produced at least the clock-skew margin before the refresh, and no later one', () => {
    const covered = new CoveredWindows<string>();
    covered.record(W, AS_OF, 'result');
    expect(CLOCK_SKEW_MARGIN_MS).toBe(1000);
    expect(covered.answer(W, AS_OF - 1000)).toBe('result');
    expect(covered.answer(W, AS_OF - 999)).toBeUndefined();
    expect(covered.answer(W + 60_000, AS_OF - 5000)).toBeUndefined(); // another window
  });

  it('keeps the recomputation that read after the newest refresh', () => {
    const covered = new CoveredWindows<string>();
    covered.record(W, AS_OF, 'newer');
    covered.record(W, AS_OF - 500, 'older, finished last');
    expect(covered.answer(W, AS_OF - 1000)).toBe('newer');
    covered.record(W, AS_OF + 500, 'newest');
    expect(covered.answer(W, AS_OF - 1000)).toBe('newest');
  });

  it('forgets the older half of the windows past 10 000', () => {
    const covered = new CoveredWindows<number>();
    for (let i = 0; i <= 10_000; i++) covered.record(W + i * 60_000, AS_OF, i);
    expect(covered.answer(W, 0)).toBeUndefined();
    expect(covered.answer(W + 4_999 * 60_000, 0)).toBeUndefined();
    expect(covered.answer(W + 5_000 * 60_000, 0)).toBe(5_000);
    expect(covered.answer(W + 10_000 * 60_000, 0)).toBe(10_000);
  });
});

describe('CoveredWindows.withCovered', () => {
  const stored = { windowStartMs: W, maxIndexedAtMs: AS_OF - 300, minComputedAtMs: AS_OF - 2000, anyOpen: false };

  it('raises the stored computed_at to what this process covered, less the clock-skew margin', () => {
    const covered = new CoveredWindows<string>();
    covered.record(W, AS_OF, 'result');
    expect(covered.withCovered(stored)).toEqual({ ...stored, minComputedAtMs: AS_OF - 1000 });
  });

  it('leaves a newer stored computed_at, an uncomputed window and an unknown window as they are', () => {
    const covered = new CoveredWindows<string>();
    covered.record(W, AS_OF, 'result');
    const newer = { ...stored, minComputedAtMs: AS_OF };
    expect(covered.withCovered(newer)).toEqual(newer);
    const uncomputed = { windowStartMs: W, maxIndexedAtMs: 1 };
    expect(covered.withCovered(uncomputed)).toEqual(uncomputed);
    expect(covered.withCovered({ ...stored, windowStartMs: W + 60_000 })).toEqual({ ...stored, windowStartMs: W + 60_000 });
  });
});
