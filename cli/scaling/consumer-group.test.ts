/**
 * Worked examples: every expected number is derived by hand from the upstream formulas
 * (sources in the module's header); the arithmetic is in the comments. The same decisions
 * are checked against the upstream code itself in test/upstream/.
 */
import { describe, expect, it } from 'vitest';
import { ConsumerGroupScaler } from './consumer-group.ts';

describe('ConsumerGroupScaler (simulated clock, 1 s steps)', () => {
  const config = { minScale: 0, maxScale: 8, lagThreshold: 100, pollingIntervalS: 10, cooldownPeriodS: 30, partitions: 8, nowMs: 0 };
  /**
   * Runs a scaler over seconds 0…until with the same lag on every partition, and compares each
   * change ("<s> s <by> <from>→<to>") and where it ended.
   */
  function expectScaling(lagAt: (s: number) => number, until: number, expected: string[], end: { replicas: number; lastActiveMs: number }): void {
    const scaler = new ConsumerGroupScaler(config);
    const changes: string[] = [];
    for (let s = 0; s <= until; s++) {
      for (const d of scaler.step(s * 1000, Array<number>(8).fill(lagAt(s)))) changes.push(`${d.atMs / 1000} s ${d.by} ${d.from}→${d.to}`);
    }
    expect(changes).toEqual(expected);
    expect({ replicas: scaler.replicas, lastActiveMs: scaler.lastActiveMs }).toEqual(end);
  }

  it('backlog → KEDA 0→1 → HPA 1→4→8 → trickle: HPA holds 300 s then 1 → lag 0: KEDA 0 after cooldown', () => {
    // KEDA polls at 0, 10, 20, …; HPA syncs at 0, 15, 30, …; KEDA first when both are due.
    // Lag per partition: 0 before 5 s, 1000 until 100 s (total 8000), 5 until 500 s (total 40), then 0.
    // allowIdleConsumers (default true): no cap, metric = total.
    //   0 s  KEDA inactive at 0; HPA at 0 → disabled.
    //  10 s  KEDA active (8000 > 0) at 0 → max(0, 1) = 1.
    //  15 s  HPA: ratio 8000/(100·1) = 80 → ceil(8000/100) = 80; clamp(80, 1, min(8, 4)) = 4.
    //  30 s  HPA: ratio 8000/400 = 20 → 80; clamp(80, 1, min(8, 8)) = 8.  (45…90 s: 80 → 8.)
    // 105 s  HPA: ratio 40/800 = 0.05 → ceil(0.4) = 1; window still holds 80 (last at 90 s) → 8.
    // 390 s  cutoff 90 s: 80@90 s still counts → 8.  405 s: cutoff 105 s → max 1 → 8 → 1.
    // KEDA stays active (40 > 0) through the poll at 490 s → lastActive 490 s.
    // 500–520 s lag 0: inactive, 520 > 490 + 30 is false; 530 s > 520 s → 1 → 0.
    // (HPA at 510/525 s: proposal 0, stabilized 1 (recs ≥ 210 s) → 1, no change; 540 s at 0 → disabled.)
    const lagAt = (s: number) => (s < 5 ? 0 : s < 100 ? 1000 : s < 500 ? 5 : 0);
    expectScaling(lagAt, 600, ['10 s keda 0→1', '15 s hpa 1→4', '30 s hpa 4→8', '405 s hpa 8→1', '530 s keda 1→0'], { replicas: 0, lastActiveMs: 490_000 });
  });

  it('lag straight to 0 with Knative’s 30 s cooldown: KEDA takes 8 → 0, bypassing the HPA window; the HPA remembers', () => {
    // Same ramp until 100 s (last 80 recommendation at 90 s, last active poll at 90 s), then 0.
    // 100/110/120 s polls: not > 90 + 30 = 120 → keep; 130 s → 8 → 0 (HPA at 105/120 s held 8
    // and recorded proposals 0@105, 0@120; at 135…195 s it is disabled and records nothing).
    // Lag 1 per partition from 200 s (total 8): 200 s KEDA 0 → 1.
    // 210 s HPA: ratio 8/100 → ceil(0.08) = 1, but the window (cutoff −90 s) still has the 80s
    //   of 15…90 s → stabilized 80 → clamp(80, 1, min(8, 4)) = 4.
    // 225 s: → clamp(80, 1, min(8, 8)) = 8.  390 s: 80@90 s still counts → 8.
    // 405 s: cutoff 105 s → max(0, 0, 1, …) = 1 → 8 → 1.  Active at every poll from 200 s: the last at 450 s.
    const lagAt = (s: number) => (s < 5 ? 0 : s < 100 ? 1000 : s < 200 ? 0 : 1);
    const expected = ['10 s keda 0→1', '15 s hpa 1→4', '30 s hpa 4→8', '130 s keda 8→0', '200 s keda 0→1', '210 s hpa 1→4', '225 s hpa 4→8', '405 s hpa 8→1'];
    expectScaling(lagAt, 450, expected, { replicas: 1, lastActiveMs: 450_000 });
  });

  it('records what each decision was computed from, and every hold with reportHolds', () => {
    const scaler = new ConsumerGroupScaler({ ...config, reportHolds: true });
    const lags = Array<number>(8).fill(1000);
    // 0 s: KEDA active at 0 → 1. The HPA's first sync comes a sync period after it is created.
    expect(scaler.step(0, lags)).toEqual([expect.objectContaining({ atMs: 0, by: 'keda', from: 0, to: 1, metric: 8000, activity: 8000, active: true })]);
    // 10 s: KEDA poll only (hold at 1). 15 s: the HPA at 1: 80 → clamp(80, 1, max(2·1, 4)) = 4.
    expect(scaler.step(10_000, lags)).toEqual([expect.objectContaining({ by: 'keda', from: 1, to: 1 })]);
    expect(scaler.step(15_000, lags)).toEqual([expect.objectContaining({ atMs: 15_000, by: 'hpa', from: 1, to: 4, metric: 8000, proposal: 80, ratio: 80, stabilized: 80 })]);
    // Its first sync recorded the replicas it found (1) before its own recommendation (80).
    expect(scaler.hpaHistory).toEqual([{ atMs: 15_000, recommendation: 1 }, { atMs: 15_000, recommendation: 80 }]);
    expect(() => scaler.step(16_000, [1, 2])).toThrow(RangeError);
  });
});
