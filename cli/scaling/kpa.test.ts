/**
 * Worked examples: every expected number is derived by hand from the upstream formulas
 * (sources in the module's header); the arithmetic is in the comments. The same decisions
 * are checked against the upstream code itself in test/upstream/.
 */
import { describe, expect, it } from 'vitest';
import { Kpa } from './kpa.ts';

describe('Kpa', () => {
  /** Observes `value(s)` once per second for seconds [from, to). */
  function feed(kpa: Kpa, from: number, to: number, value: (s: number) => number): void {
    for (let s = from; s < to; s++) kpa.observe(s * 1000, value(s));
  }

  it('steady 100 in flight with target 50 → ceil(100 / 35) = 3 pods', () => {
    // target value = 50 · 70 % = 35; 60 buckets of 100 → stable avg 100, panic avg 100.
    // dspc = ceil(100/35 = 2.857) = 3; dppc = 3; 3 / 3 ready = 1 < 2 → no panic.
    const kpa = new Kpa({ target: 50 });
    feed(kpa, 0, 60, () => 100);
    expect(kpa.decider.averages(59_000)).toEqual({ stable: 100, panic: 100 });
    expect(kpa.decide(59_000, 3)).toMatchObject({ desired: 3, panic: false });
    // max-scale 2 clamps: min(3, 2) = 2.
    const capped = new Kpa({ target: 50, maxScale: 2 });
    feed(capped, 0, 60, () => 100);
    expect(capped.decide(59_000, 2).desired).toBe(2);
  });

  it('averages over the seconds since the first observation while the window is not full', () => {
    // 6 observations of 100 (s 0..5): stable avg = 600 / 6 = 100, not 600 / 60.
    const kpa = new Kpa({ target: 50 });
    feed(kpa, 0, 6, () => 100);
    expect(kpa.decider.averages(5_000)).toEqual({ stable: 100, panic: 100 });
  });

  it('panics on a spike: uses the panic-window average and never scales down while panicking', () => {
    const kpa = new Kpa({ target: 50 });
    // s 0..53: 35 in flight; s 54..59: 350.
    feed(kpa, 0, 60, (s) => (s < 54 ? 35 : 350));
    // At 59 s, 1 pod: stable = (54·35 + 6·350) / 60 = (1890 + 2100) / 60 = 66.5 → ceil(1.9) = 2;
    // panic = 6·350 / 6 = 350 → ceil(10) = 10; 10 / 1 ≥ 2 → panic; desired max(2, 10) = 10.
    let d = kpa.decide(59_000, 1);
    expect(d).toMatchObject({ desired: 10, panic: true, stable: 66.5, panicAverage: 350 });
    // The spike ends. At 61 s with 10 pods: stable window s 2..61 = 52·35 + 6·350 + 2·35 = 3990
    // → 66.5 → 2, floor(10 / 2) = 5 bounds it → 5; panic window s 56..61 = (4·350 + 2·35) / 6
    // = 245 → 7; 7 / 10 < 2 → not over, but panicking since 59 s → stays at maxPanicPods 10.
    feed(kpa, 60, 62, () => 35);
    d = kpa.decide(61_000, 10);
    expect(d).toMatchObject({ desired: 10, panic: true, panicAverage: 245 });
    // Every tick until 119 s: 59 s + 60 s < now is false → still panicking at 10.
    for (let t = 63; t <= 119; t += 2) {
      feed(kpa, t - 1, t + 1, () => 35);
      expect(kpa.decide(t * 1000, 10), `at ${t} s`).toMatchObject({ desired: 10, panic: true });
    }
    // 121 s: 59 + 60 = 119 < 121 → un-panic. Stable window s 62..121 all 35 → 1; floor(10/2) = 5 → 5.
    feed(kpa, 120, 122, () => 35);
    expect(kpa.decide(121_000, 10)).toMatchObject({ desired: 5, panic: false, stable: 35 });
  });

  it('scales down at most by half per decision', () => {
    // Stable avg 35 → ceil(35/35) = 1 pod wanted; dppc 1 / 8 < 2 → no panic.
    // 8 pods: max(1, floor(8/2) = 4) = 4; then 4 → 2; 2 → 1; 1 → 1.
    const kpa = new Kpa({ target: 50 });
    feed(kpa, 0, 67, () => 35);
    const seen: number[] = [];
    let pods = 8;
    for (const t of [60, 62, 64, 66]) {
      pods = kpa.decide(t * 1000, pods).desired;
      seen.push(pods);
    }
    expect(seen).toEqual([4, 2, 1, 1]);
  });

  it('decides at most once per 2 s tick', () => {
    // 60 s of 35 → 1 wanted; at 8 pods → 4 at 60 s; at 61 s (same tick) the answer is repeated
    // even though 4 pods would now halve to 2; at 62 s: floor(4/2) = 2.
    const kpa = new Kpa({ target: 50 });
    feed(kpa, 0, 63, () => 35);
    expect(kpa.decide(60_000, 8).desired).toBe(4);
    expect(kpa.decide(61_000, 4).desired).toBe(4);
    expect(kpa.decide(62_000, 4).desired).toBe(2);
  });

  it('goes to zero only after the stable window averages 0 and then the 30 s grace period', () => {
    // 1 pod, 35 in flight for s 0..59, then nothing. Decisions every 2 s, active since 0 s.
    // Stable avg at s n ≥ 60: window s (n−59)..n holds 35 for s ≤ 59 → 35·(119−n)/60 > 0 up to
    // n = 118 → ceil(…/35) = 1. At 120 s the window s 61..120 is all 0 → 0 wanted; active for
    // 120 s ≥ 60 s → inactive from 120 s; hold 1 while inactive < 30 s; 0 at 150 s.
    const kpa = new Kpa({ target: 50 });
    let pods = 1;
    const at: Record<number, number> = {};
    for (let t = 0; t <= 160; t += 2) {
      feed(kpa, t === 0 ? 0 : t - 1, t + 1, (s) => (s < 60 ? 35 : 0));
      pods = kpa.decide(t * 1000, pods).desired;
      at[t] = pods;
    }
    expect(at[90]).toBe(1); // 30 s without requests, but the stable window still averages > 0
    expect(at[118]).toBe(1); // stable avg 35/60 → 1
    expect(at[120]).toBe(1); // 0 wanted, inactive for 0 s < 30 s
    expect(at[148]).toBe(1); // inactive for 28 s
    expect(at[150]).toBe(0); // inactive for 30 s = grace period
    expect(at[160]).toBe(0);
  });

  it('scales from zero at once when requests wait at the activator', () => {
    // At 0 pods with desired 0, one request arrives at 200.5 s: the stable window (s 141..200)
    // holds 59 zeros and 1 → 1/60 → ceil(…/35) = 1, decided at once, not at the next tick.
    const kpa = new Kpa({ target: 50 });
    feed(kpa, 0, 200, () => 0);
    expect(kpa.decide(199_000, 0).desired).toBe(0);
    kpa.observe(200_500, 1);
    expect(kpa.decide(200_500, 0).desired).toBe(1);
  });
});

