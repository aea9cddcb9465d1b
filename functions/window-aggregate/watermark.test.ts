import { describe, expect, it } from 'vitest';
import { deferred } from '../../test/helpers.ts';
import { Watermark } from './watermark.ts';

const LATENESS = 30_000;
const T = Date.parse('2024-05-01T12:34:00.000Z');

describe('Watermark.advance', () => {
  it('starts unknown and ignores an unknown candidate', () => {
    const w = new Watermark(LATENESS);
    expect(w.value).toBeUndefined();
    expect(w.advance(undefined, false)).toBeUndefined();
  });

  it('does not move while held', () => {
    const w = new Watermark(LATENESS);
    expect(w.advance(1000, true)).toBeUndefined();
    expect(w.advance(1000, false)).toBe(1000);
    expect(w.advance(5000, true)).toBe(1000);
    expect(w.value).toBe(1000);
  });

  it('only moves forward', () => {
    const w = new Watermark(LATENESS);
    w.advance(1000, false);
    expect(w.advance(500, false)).toBe(1000);
    expect(w.advance(undefined, false)).toBe(1000);
    expect(w.advance(1000, false)).toBe(1000);
    expect(w.advance(1001, false)).toBe(1001);
    expect(w.value).toBe(1001);
  });
});

describe('Watermark.observe', () => {
  it('trails the newest event time by the allowed lateness, never past the wall clock', async () => {
    const w = new Watermark(LATENESS);
    expect(await w.observe(undefined, T)).toBeUndefined();
    expect(await w.observe(T - 5_000, T)).toBe(T - 35_000);
    // An event stamped in the future counts as now.
    expect(await w.observe(T + 600_000, T + 1_000)).toBe(T - 29_000);
  });

  it('holds while upstream is behind the candidate, and asks only when it would advance', async () => {
    const asked: number[] = [];
    let behind = true;
    const w = new Watermark(LATENESS, async (candidate) => {
      asked.push(candidate);
      return behind;
    });
    expect(await w.observe(T, T)).toBeUndefined();
    behind = false;
    expect(await w.observe(T, T)).toBe(T - LATENESS);
    expect(await w.observe(T - 1, T)).toBe(T - LATENESS); // would move back: not asked
    expect(await w.observe(T, T)).toBe(T - LATENESS); // would stay: not asked
    expect(asked).toEqual([T - LATENESS, T - LATENESS]);
  });

  it('never moves back when a slow answer for an older candidate arrives last', async () => {
    const answers = [deferred<boolean>(), deferred<boolean>()];
    let call = 0;
    const w = new Watermark(LATENESS, () => answers[call++]!.promise);
    const older = w.observe(T, T + 60_000);
    const newer = w.observe(T + 10_000, T + 60_000);
    answers[1]!.resolve(false);
    expect(await newer).toBe(T + 10_000 - LATENESS);
    answers[0]!.resolve(false);
    expect(await older).toBe(T + 10_000 - LATENESS);
  });
});
