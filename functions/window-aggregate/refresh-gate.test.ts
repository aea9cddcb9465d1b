import { describe, expect, it } from 'vitest';
import { deferred, type Deferred } from '../../test/helpers.ts';
import { ManualClock, settle } from './fakes.ts';
import { RefreshGate } from './refresh-gate.ts';

const T0 = 1_000_000;
const INTERVAL = 250;

function setup() {
  const clock = new ManualClock(T0);
  const refreshes: { startedAt: number; done: Deferred<void> }[] = [];
  const refresh = () => {
    const done = deferred();
    refreshes.push({ startedAt: clock.now(), done });
    return done.promise;
  };
  return { clock, refreshes, gate: new RefreshGate({ refresh, minIntervalMs: INTERVAL, now: clock.now, sleep: clock.sleep }) };
}

describe('RefreshGate', () => {
  it('starts a refresh at once when none ran, and answers with its start time', async () => {
    const { refreshes, gate } = setup();
    const served = gate.after(T0);
    expect(refreshes).toHaveLength(1);
    refreshes[0]!.done.resolve();
    expect(await served).toBe(T0);
  });

  it('shares one refresh among callers whose requests it started after', async () => {
    const { clock, refreshes, gate } = setup();
    const first = gate.after(T0);
    await clock.advance(10);
    const second = gate.after(T0 - 5); // asked before the refresh started: served by it
    const third = gate.after(T0);
    await settle();
    expect(refreshes).toHaveLength(1);
    refreshes[0]!.done.resolve();
    expect(await Promise.all([first, second, third])).toEqual([T0, T0, T0]);
  });

  it('starts the next refresh no sooner than the interval after the last, one for all who wait', async () => {
    const { clock, refreshes, gate } = setup();
    const first = gate.after(T0);
    await clock.advance(40);
    const later = [gate.after(T0 + 40), gate.after(T0 + 40)]; // the running refresh is too early for them
    refreshes[0]!.done.resolve();
    await first;
    await settle();
    expect(clock.sleeps).toEqual([INTERVAL - 40, INTERVAL - 40]);
    expect(refreshes).toHaveLength(1);

    await clock.advance(INTERVAL - 41);
    expect(refreshes).toHaveLength(1); // one millisecond short
    await clock.advance(1);
    expect(refreshes.map((r) => r.startedAt)).toEqual([T0, T0 + INTERVAL]);
    refreshes[1]!.done.resolve();
    expect(await Promise.all(later)).toEqual([T0 + INTERVAL, T0 + INTERVAL]);
  });

  it('does not wait when the interval has already passed', async () => {
    const { clock, refreshes, gate } = setup();
    const first = gate.after(T0);
    refreshes[0]!.done.resolve();
    await first;
    await clock.advance(INTERVAL + 1);
    const next = gate.after(clock.now());
    await settle();
    expect(clock.sleeps).toEqual([]);
    expect(refreshes).toHaveLength(2);
    refreshes[1]!.done.resolve();
    expect(await next).toBe(T0 + INTERVAL + 1);
  });

  it('fails the callers of a failed refresh, and starts afresh for the next', async () => {
    const { clock, refreshes, gate } = setup();
    const first = gate.after(T0);
    const shared = gate.after(T0);
    refreshes[0]!.done.reject(new Error('refresh refused'));
    await expect(first).rejects.toThrow('refresh refused');
    await expect(shared).rejects.toThrow('refresh refused');
    const next = gate.after(T0);
    await settle();
    expect(clock.sleeps).toEqual([]);
    expect(refreshes).toHaveLength(2);
    refreshes[1]!.done.resolve();
    expect(await next).toBe(T0);
  });
});
