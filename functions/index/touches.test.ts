import { describe, expect, it } from 'vitest';
import { TouchDebouncer } from './touches.ts';

const PERIOD = 500;
const W1 = '2024-05-01T12:34:00.000Z';
const W2 = '2024-05-01T12:35:00.000Z';

describe('TouchDebouncer', () => {
  it('sends the first touch of a window now', () => {
    const d = new TouchDebouncer(PERIOD);
    expect(d.decide([W1], 1000)).toEqual({ now: [W1], later: [] });
  });

  it('schedules exactly one trailing notice for a second touch within the period, due when the period ends', () => {
    const d = new TouchDebouncer(PERIOD);
    d.decide([W1], 1000);
    expect(d.decide([W1], 1200)).toEqual({ now: [], later: [{ window: W1, delayMs: 300 }] });
  });

  it('adds nothing for a third touch within the period', () => {
    const d = new TouchDebouncer(PERIOD);
    d.decide([W1], 1000);
    d.decide([W1], 1200);
    expect(d.decide([W1], 1499)).toEqual({ now: [], later: [] });
  });

  it('sends now again once the period is over', () => {
    const d = new TouchDebouncer(PERIOD);
    d.decide([W1], 1000);
    expect(d.decide([W1], 1500)).toEqual({ now: [W1], later: [] });
    // ...and that restarts the period.
    expect(d.decide([W1], 1600)).toEqual({ now: [], later: [{ window: W1, delayMs: 400 }] });
  });

  it('a leading send after the period clears a pending trailing notice', () => {
    const d = new TouchDebouncer(PERIOD);
    d.decide([W1], 1000);
    d.decide([W1], 1100); // trailing scheduled
    expect(d.decide([W1], 1500)).toEqual({ now: [W1], later: [] });
    // A new trailing notice can be scheduled within the new period.
    expect(d.decide([W1], 1700)).toEqual({ now: [], later: [{ window: W1, delayMs: 300 }] });
  });

  it('starts a new period when the trailing notice is sent', () => {
    const d = new TouchDebouncer(PERIOD);
    d.decide([W1], 1000);
    d.decide([W1], 1200);
    d.sentTrailing(W1, 1500);
    expect(d.decide([W1], 1600)).toEqual({ now: [], later: [{ window: W1, delayMs: 400 }] });
    expect(d.decide([W1], 2000)).toEqual({ now: [W1], later: [] });
  });

  it('sends now on the next touch after failed()', () => {
    const d = new TouchDebouncer(PERIOD);
    d.decide([W1], 1000);
    d.decide([W1], 1100);
    d.failed(W1);
    expect(d.decide([W1], 1200)).toEqual({ now: [W1], later: [] });
  });

  it('collapses duplicates within one call', () => {
    const d = new TouchDebouncer(PERIOD);
    expect(d.decide([W1, W1, W2, W1], 1000)).toEqual({ now: [W1, W2], later: [] });
    expect(d.decide([W2, W1, W2, W1], 1100)).toEqual({
      now: [],
      later: [
        { window: W2, delayMs: 400 },
        { window: W1, delayMs: 400 },
      ],
    });
  });

  it('keeps windows independent', () => {
    const d = new TouchDebouncer(PERIOD);
    d.decide([W1], 1000);
    expect(d.decide([W1, W2], 1100)).toEqual({ now: [W2], later: [{ window: W1, delayMs: 400 }] });
    d.failed(W2);
    expect(d.decide([W1, W2], 1200)).toEqual({ now: [W2], later: [] });
  });

  it('accepts any iterable', () => {
    const d = new TouchDebouncer(PERIOD);
    expect(d.decide(new Set([W1, W2]), 1000).now).toEqual([W1, W2]);
  });

  it('forgets windows last sent more than ten periods ago', () => {
    const d = new TouchDebouncer(PERIOD);
    d.decide([W1], 0);
    // Any touch more than ten periods later prunes W1's entry...
    d.decide([W2], 10 * PERIOD + 1);
    // ...which shows when a touch of W1 comes with a time inside its old period (a clock
    // that stepped back): a remembered entry would give a trailing notice, a forgotten one
    // sends now.
    expect(d.decide([W1], 100)).toEqual({ now: [W1], later: [] });
  });

  it('remembers windows sent within the last ten periods', () => {
    const d = new TouchDebouncer(PERIOD);
    d.decide([W1], 1);
    d.decide([W2], 10 * PERIOD + 1); // cutoff = 1: W1 (sent at 1) is not older than it
    expect(d.decide([W1], 100)).toEqual({ now: [], later: [{ window: W1, delayMs: 401 }] });
  });

  it('does not forget a window whose trailing notice is pending', () => {
    const d = new TouchDebouncer(PERIOD);
    d.decide([W1], 0);
    d.decide([W1], 100); // trailing pending
    d.decide([W2], 10 * PERIOD + 1);
    expect(d.decide([W1], 200)).toEqual({ now: [], later: [] });
  });
});
