import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TouchDebouncer, TrailingNotices, WindowNotices } from './touches.ts';

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

describe('TrailingNotices', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function recorder() {
    const sent: string[] = [];
    return { sent, notices: new TrailingNotices(async (window) => void sent.push(window)) };
  }

  it('sends a scheduled notice when its delay is over', async () => {
    const { sent, notices } = recorder();
    notices.schedule(W1, 300);
    await vi.advanceTimersByTimeAsync(299);
    expect(sent).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(sent).toEqual([W1]);
    expect(notices.pending).toBe(0);
  });

  it('keeps at most one timer per window: a new schedule replaces the armed one', async () => {
    const { sent, notices } = recorder();
    notices.schedule(W1, 100);
    notices.schedule(W1, 400);
    notices.schedule(W2, 200);
    expect(notices.pending).toBe(2);
    await vi.advanceTimersByTimeAsync(100);
    expect(sent).toEqual([]);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(sent).toEqual([W2, W1]);
  });

  it('flush sends every pending notice once, now, and nothing fires afterwards', async () => {
    const { sent, notices } = recorder();
    notices.schedule(W1, 300);
    notices.schedule(W1, 200);
    notices.schedule(W2, 400);
    await notices.flush();
    expect(sent).toEqual([W1, W2]);
    expect(notices.pending).toBe(0);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(sent).toEqual([W1, W2]);
    await notices.flush();
    expect(sent).toEqual([W1, W2]);
  });

  it('flush waits for the sends', async () => {
    let done = false;
    const notices = new TrailingNotices(async () => {
      await new Promise((resolve) => setTimeout(resolve, 50));
      done = true;
    });
    notices.schedule(W1, 1000);
    const flushed = notices.flush();
    await vi.advanceTimersByTimeAsync(50);
    await flushed;
    expect(done).toBe(true);
  });

  it('with a debouncer, a trailing notice re-requested after failed() gives one notice, not two', async () => {
    // index's wiring: `later` decisions are scheduled; a trailing send marks the debouncer.
    const d = new TouchDebouncer(PERIOD);
    const sent: string[] = [];
    const notices = new TrailingNotices(async (window) => {
      d.sentTrailing(window, Date.now());
      sent.push(window);
    });
    const touch = (at: number) => {
      vi.setSystemTime(at);
      for (const { window, delayMs } of d.decide([W1], at).later) notices.schedule(window, delayMs);
    };
    vi.setSystemTime(0);
    touch(1000); // leading (its send will fail)
    touch(1100); // trailing armed for 1500
    d.failed(W1); // the leading send of 1000 failed
    touch(1200); // leading again
    touch(1300); // trailing requested again, for 1700: replaces the stale timer
    expect(notices.pending).toBe(1);
    await vi.advanceTimersByTimeAsync(5000);
    expect(sent).toEqual([W1]);
    await notices.flush();
    expect(sent).toEqual([W1]);
  });
});

describe('WindowNotices', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(0);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function notices(fail: (window: string) => boolean = () => false) {
    const sent: { window: string; atMs: number }[] = [];
    let counted = 0;
    const n = new WindowNotices({
      send: async (window) => {
        if (fail(window)) throw new Error('broker down');
        sent.push({ window, atMs: Date.now() });
      },
      periodMs: PERIOD,
      now: Date.now,
      onSent: () => counted++,
    });
    return { n, sent, counted: () => counted };
  }

  it('sends a leading notice before touched() resolves, and one trailing notice when the period is over', async () => {
    const { n, sent, counted } = notices();
    await n.touched([W1, W1]);
    expect(sent).toEqual([{ window: W1, atMs: 0 }]);
    vi.setSystemTime(100);
    await n.touched([W1]);
    await n.touched([W1]);
    expect(sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(PERIOD);
    expect(sent).toEqual([
      { window: W1, atMs: 0 },
      { window: W1, atMs: PERIOD },
    ]);
    expect(counted()).toBe(1);
  });

  it('rejects when a leading notice could not be produced, and the next touch sends again', async () => {
    let down = true;
    const { n, sent } = notices(() => down);
    await expect(n.touched([W1])).rejects.toThrow('broker down');
    down = false;
    vi.setSystemTime(10);
    await n.touched([W1]);
    expect(sent).toEqual([{ window: W1, atMs: 10 }]);
  });

  it('a trailing notice that fails makes the next touch send at once', async () => {
    let down = false;
    const { n, sent } = notices(() => down);
    await n.touched([W1]);
    vi.setSystemTime(100);
    await n.touched([W1]);
    down = true;
    await vi.advanceTimersByTimeAsync(PERIOD);
    down = false;
    // Inside the period the failed trailing notice would have started: sent at once all the same.
    await n.touched([W1]);
    expect(sent.map((s) => s.atMs)).toEqual([0, 100 + PERIOD]);
  });

  it('flush sends the pending trailing notices now', async () => {
    const { n, sent } = notices();
    await n.touched([W1, W2]);
    vi.setSystemTime(100);
    await n.touched([W1, W2]);
    await n.flush();
    expect(sent.map((s) => `${s.window}@${s.atMs}`)).toEqual([`${W1}@0`, `${W2}@0`, `${W1}@100`, `${W2}@100`]);
    await vi.advanceTimersByTimeAsync(10 * PERIOD);
    expect(sent).toHaveLength(4);
  });
});
