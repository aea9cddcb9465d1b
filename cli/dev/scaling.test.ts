/**
 * Scaling emulation. Every expected number is derived by hand from the formulas of
 * the KEDA Kafka scaler and HPA algorithms (sources in scaling.ts) and Knative's KPA; the arithmetic is in
 * the comments.
 */
import { describe, expect, it } from 'vitest';
import { partitionLag } from '../../shared/lag.ts';
import {
  ConsumerScaler,
  DOWNSCALE_STABILIZATION_MS,
  HPA_SYNC_PERIOD_MS,
  type HpaRecommendation,
  Kpa,
  TOLERANCE,
  hpaProposal,
  hpaReconcile,
  kafkaScalerActive,
  kafkaScalerMetric,
  kedaPoll,
} from './scaling.ts';

/** Runs hpaReconcile on successive 15 s syncs, feeding each desired back as current. */
function hpaSteps(
  start: { replicas: number; atMs: number },
  metric: number,
  lagThreshold: number,
  maxReplicas: number,
  syncs: number,
): number[] {
  let history: HpaRecommendation[] = [];
  let current = start.replicas;
  const out: number[] = [];
  for (let i = 0; i < syncs; i++) {
    const proposal = hpaProposal({ metric, targetPerPod: lagThreshold, statusReplicas: current }).replicas;
    const r = hpaReconcile(history, { proposal, currentReplicas: current, minReplicas: 1, maxReplicas, nowMs: start.atMs + i * HPA_SYNC_PERIOD_MS });
    history = r.history;
    current = r.desired;
    out.push(current);
  }
  return out;
}

describe('constants', () => {
  it('are the kube-controller-manager defaults', () => {
    expect(HPA_SYNC_PERIOD_MS).toBe(15_000);
    expect(TOLERANCE).toBe(0.1);
    expect(DOWNSCALE_STABILIZATION_MS).toBe(300_000);
  });
});

describe('worked examples of the KEDA scaler and HPA algorithms', () => {
  it('P=10, T=10, lag 100 per partition: metric capped to 100, proposal 10, legacy path 1 → 4 → 8 → 10', () => {
    // total = 10·100 = 1000; 1000 // 10 = 100 > P = 10 → capped to P·T = 10·10 = 100.
    const m = kafkaScalerMetric({ partitionLags: Array<number>(10).fill(100), lagThreshold: 10 });
    expect(m).toEqual({ metric: 100, activity: 1000 });
    // From 1 replica: ratio 100 / (10·1) = 10, outside ±0.1 → ceil(100 / 10) = 10.
    expect(hpaProposal({ metric: 100, targetPerPod: 10, statusReplicas: 1 })).toEqual({ replicas: 10, ratio: 10, withinTolerance: false });
    // Legacy normalization, maxReplicas 100 (KEDA default):
    //   from 1: clamp(10, 1, min(100, max(2·1, 4) = 4)) = 4
    //   from 4: ratio 100/40 = 2.5 → 10; clamp(10, 1, min(100, 8)) = 8
    //   from 8: ratio 100/80 = 1.25 → 10; clamp(10, 1, min(100, 16)) = 10
    //   from 10: ratio 100/100 = 1 → within tolerance → 10
    expect(hpaSteps({ replicas: 1, atMs: 0 }, 100, 10, 100, 4)).toEqual([4, 8, 10, 10]);
  });

  it('issue #2908: P=64, T=3000, 63 replicas, ≈450k lag on one partition: stuck at 63 by the tolerance', () => {
    const lags = Array<number>(64).fill(0);
    lags[0] = 450_000;
    // 450000 // 3000 = 150 > 64 → capped to 64·3000 = 192000.
    const m = kafkaScalerMetric({ partitionLags: lags, lagThreshold: 3000 });
    expect(m).toEqual({ metric: 192_000, activity: 450_000 });
    // ratio 192000 / (3000·63) = 192000 / 189000 = 1.0159 ≤ 1.1 → proposal stays 63.
    const p = hpaProposal({ metric: m.metric, targetPerPod: 3000, statusReplicas: 63 });
    expect(p.withinTolerance).toBe(true);
    expect(p.ratio).toBeCloseTo(192_000 / 189_000, 12);
    expect(p.replicas).toBe(63);
    // Normalized: stabilized max(63) = 63, within [1, min(64, 126)] → 63, on every sync.
    expect(hpaSteps({ replicas: 63, atMs: 0 }, m.metric, 3000, 64, 3)).toEqual([63, 63, 63]);

    // With allowIdleConsumers (what Knative sets once placed) there is no cap:
    // ratio 450000 / 189000 = 2.38 → ceil(450000 / 3000) = 150 → clamp(150, 1, min(64, 126)) = 64.
    const idle = kafkaScalerMetric({ partitionLags: lags, lagThreshold: 3000, allowIdleConsumers: true });
    expect(idle).toEqual({ metric: 450_000, activity: 450_000 });
    expect(hpaSteps({ replicas: 63, atMs: 0 }, idle.metric, 3000, 64, 1)).toEqual([64]);
  });

  it('off-by-one: P=5, T=5, total 27 is not capped; from 4 replicas → 6 = P+1, from 5 → stays 5', () => {
    // 6+6+5+5+5 = 27; 27 // 5 = 5, and 5 > 5 is false → uncapped 27.
    const m = kafkaScalerMetric({ partitionLags: [6, 6, 5, 5, 5], lagThreshold: 5 });
    expect(m).toEqual({ metric: 27, activity: 27 });
    // From 4: ratio 27 / 20 = 1.35 > 1.1 → ceil(27/5) = ceil(5.4) = 6; clamp(6, 1, min(100, 8)) = 6.
    expect(hpaProposal({ metric: 27, targetPerPod: 5, statusReplicas: 4 }).replicas).toBe(6);
    expect(hpaSteps({ replicas: 4, atMs: 0 }, 27, 5, 100, 1)).toEqual([6]);
    // From 5: ratio 27 / 25 = 1.08 ≤ 1.1 → 5.
    expect(hpaProposal({ metric: 27, targetPerPod: 5, statusReplicas: 5 })).toMatchObject({ replicas: 5, withinTolerance: true });
    // With max-scale ≤ partitions (our manifests: 5) the extra consumer is clamped away: min(5, 8) = 5.
    expect(hpaSteps({ replicas: 4, atMs: 0 }, 27, 5, 5, 1)).toEqual([5]);
    // One more lag: 30 // 5 = 6 > 5 → capped to 25.
    expect(kafkaScalerMetric({ partitionLags: [6, 6, 6, 6, 6], lagThreshold: 5 }).metric).toBe(25);
  });

  it('no commits, latest, 3 partitions: synthetic total 3 → active → 1 replica', () => {
    // partitionLag(-1, latest) = 1 per partition under `latest` → total 3.
    const lags = [partitionLag(-1, 500), partitionLag(-1, 0), partitionLag(-1, 42)];
    const m = kafkaScalerMetric({ partitionLags: lags, lagThreshold: 10 });
    expect(m).toEqual({ metric: 3, activity: 3 });
    expect(kafkaScalerActive(m.activity)).toBe(true); // 3 > 0
    // KEDA: active at 0 → max(0, 1) = 1.
    const k = kedaPoll({ replicas: 0, createdMs: 0 }, { active: true, nowMs: 10_000, minReplicaCount: 0, maxReplicaCount: 100, cooldownPeriodS: 300 });
    expect(k.replicas).toBe(1);
    // HPA at 1: ratio 3 / 10 = 0.3 → ceil(3/10) = 1 → clamp(1, 1, 4) = 1.
    expect(hpaSteps({ replicas: 1, atMs: 0 }, m.metric, 10, 100, 1)).toEqual([1]);
  });
});

describe('kafkaScalerMetric', () => {
  it('reports negative totals as 0 to the HPA but keeps the raw total for activation', () => {
    // Offsets read non-atomically: −2 + 0 = −2 → metric 0, activity −2 (not > 0 → inactive).
    const m = kafkaScalerMetric({ partitionLags: [-2, 0], lagThreshold: 10 });
    expect(m).toEqual({ metric: 0, activity: -2 });
    expect(kafkaScalerActive(m.activity)).toBe(false);
  });

  it('limitToPartitionsWithLag caps at the partitions that have lag', () => {
    // 2 partitions with lag; 300 // 10 = 30 > 2 → 2·10 = 20.
    expect(kafkaScalerMetric({ partitionLags: [150, 150, 0, 0], lagThreshold: 10, limitToPartitionsWithLag: true }).metric).toBe(20);
    expect(() => kafkaScalerMetric({ partitionLags: [1], lagThreshold: 10, allowIdleConsumers: true, limitToPartitionsWithLag: true })).toThrow(RangeError);
  });
});

describe('kedaPoll', () => {
  const base = { minReplicaCount: 0, maxReplicaCount: 8, cooldownPeriodS: 30 };

  it('activates 0 → 1 at the first poll after lag appears, and only then', () => {
    // Poll at 0 s: no lag → inactive at 0 → nothing.
    let s = { replicas: 0, createdMs: 0 } as { replicas: number; createdMs: number; lastActiveMs?: number };
    const r0 = kedaPoll(s, { ...base, active: false, nowMs: 0 });
    expect(r0.replicas).toBe(0);
    // Lag appears at 3 s; the next poll (10 s) activates: max(0, 1) = 1, lastActive = 10 s.
    s = { ...s, replicas: r0.replicas, lastActiveMs: r0.lastActiveMs };
    const r1 = kedaPoll(s, { ...base, active: true, nowMs: 10_000 });
    expect(r1).toMatchObject({ replicas: 1, lastActiveMs: 10_000 });
    // min-scale 2: activation goes to max(2, 1) = 2.
    expect(kedaPoll({ replicas: 0, createdMs: 0 }, { ...base, minReplicaCount: 2, active: true, nowMs: 10_000 }).replicas).toBe(2);
  });

  it('scales to 0 strictly after lastActive + cooldown, at the first poll past it', () => {
    // lastActive 100 s, cooldown 30 s → allowed only for now > 130 s.
    const s = { replicas: 3, createdMs: 0, lastActiveMs: 100_000 };
    expect(kedaPoll(s, { ...base, active: false, nowMs: 120_000 }).replicas).toBe(3);
    expect(kedaPoll(s, { ...base, active: false, nowMs: 130_000 }).replicas).toBe(3); // equal: not after
    expect(kedaPoll(s, { ...base, active: false, nowMs: 130_001 }).replicas).toBe(0);
    // Polls every 10 s from 100 s: 110, 120, 130 keep 3; 140 is the first past 130 → 0.
    const polls = [110, 120, 130, 140].map((t) => kedaPoll(s, { ...base, active: false, nowMs: t * 1000 }).replicas);
    expect(polls).toEqual([3, 3, 3, 0]);
  });

  it('with no lastActive uses creation + initialCooldownPeriod; never goes below min-scale ≥ 1', () => {
    // created at 0, initialCooldown 60 s: 60 s → keep, 60.001 s → 0.
    const s = { replicas: 1, createdMs: 0 };
    expect(kedaPoll(s, { ...base, initialCooldownPeriodS: 60, active: false, nowMs: 60_000 }).replicas).toBe(1);
    expect(kedaPoll(s, { ...base, initialCooldownPeriodS: 60, active: false, nowMs: 60_001 }).replicas).toBe(0);
    // min 1: the scale-to-zero branch needs min == 0 → nothing.
    expect(kedaPoll({ replicas: 1, createdMs: 0, lastActiveMs: 0 }, { ...base, minReplicaCount: 1, active: false, nowMs: 1e9 }).replicas).toBe(1);
    // Below min while inactive: raised to min (2).
    expect(kedaPoll({ replicas: 1, createdMs: 0 }, { ...base, minReplicaCount: 2, active: false, nowMs: 0 }).replicas).toBe(2);
  });
});

describe('hpaReconcile', () => {
  it('does nothing at 0 replicas and records nothing', () => {
    const history = [{ atMs: 0, recommendation: 5 }];
    const r = hpaReconcile(history, { proposal: 10, currentReplicas: 0, minReplicas: 1, maxReplicas: 8, nowMs: 15_000 });
    expect(r.desired).toBe(0);
    expect(r.history).toEqual(history);
  });

  it('clamps a current count outside [min, max] without using the metric', () => {
    expect(hpaReconcile([], { proposal: 1, currentReplicas: 10, minReplicas: 1, maxReplicas: 8, nowMs: 0 })).toMatchObject({ desired: 8, history: [] });
    expect(hpaReconcile([], { proposal: 9, currentReplicas: 1, minReplicas: 2, maxReplicas: 8, nowMs: 0 })).toMatchObject({ desired: 2, history: [] });
  });

  it('holds a scale-down for 300 s of stabilization, then drops at once', () => {
    // t=0: at 8, proposal 8 → 8. From t=15 s the proposal is 1.
    let r = hpaReconcile([], { proposal: 8, currentReplicas: 8, minReplicas: 1, maxReplicas: 8, nowMs: 0 });
    expect(r.desired).toBe(8);
    for (let t = 15; t <= 300; t += 15) {
      // Cutoff t − 300 ≤ 0 keeps the 8 recorded at 0 (a sample counts unless strictly older).
      r = hpaReconcile(r.history, { proposal: 1, currentReplicas: 8, minReplicas: 1, maxReplicas: 8, nowMs: t * 1000 });
      expect(r.desired, `at ${t} s`).toBe(8);
    }
    // t=315: cutoff 15 s > 0 → the 8 is gone; max of the 1s = 1 → 8 → 1 in one step.
    r = hpaReconcile(r.history, { proposal: 1, currentReplicas: 8, minReplicas: 1, maxReplicas: 8, nowMs: 315_000 });
    expect(r.desired).toBe(1);
    expect(r.stabilized).toBe(1);
  });

  it('limits scale-up to max(2·current, 4) per sync', () => {
    // from 1 → min(50, 4) = 4; from 3 → min(50, 6) = 6; from 20 → min(50, 40) = 40.
    expect(hpaReconcile([], { proposal: 50, currentReplicas: 1, minReplicas: 1, maxReplicas: 50, nowMs: 0 }).desired).toBe(4);
    expect(hpaReconcile([], { proposal: 50, currentReplicas: 3, minReplicas: 1, maxReplicas: 50, nowMs: 0 }).desired).toBe(6);
    expect(hpaReconcile([], { proposal: 50, currentReplicas: 20, minReplicas: 1, maxReplicas: 50, nowMs: 0 }).desired).toBe(40);
  });
});

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
    expect(kpa.averages(59_000)).toEqual({ stable: 100, panic: 100 });
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
    expect(kpa.averages(5_000)).toEqual({ stable: 100, panic: 100 });
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

describe('ConsumerScaler (simulated clock, 1 s steps)', () => {
  const config = { minScale: 0, maxScale: 8, lagThreshold: 100, pollingIntervalS: 10, cooldownPeriodS: 30, partitions: 8, nowMs: 0 };
  const changes = (scaler: ConsumerScaler, lagAt: (s: number) => number, until: number) => {
    const out: { s: number; by: string; from: number; to: number }[] = [];
    for (let s = 0; s <= until; s++) {
      for (const d of scaler.step(s * 1000, Array<number>(8).fill(lagAt(s)))) out.push({ s: d.atMs / 1000, by: d.by, from: d.from, to: d.to });
    }
    return out;
  };

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
    const scaler = new ConsumerScaler(config);
    const lagAt = (s: number) => (s < 5 ? 0 : s < 100 ? 1000 : s < 500 ? 5 : 0);
    expect(changes(scaler, lagAt, 600)).toEqual([
      { s: 10, by: 'keda', from: 0, to: 1 },
      { s: 15, by: 'hpa', from: 1, to: 4 },
      { s: 30, by: 'hpa', from: 4, to: 8 },
      { s: 405, by: 'hpa', from: 8, to: 1 },
      { s: 530, by: 'keda', from: 1, to: 0 },
    ]);
    expect(scaler.replicas).toBe(0);
    expect(scaler.lastActiveMs).toBe(490_000);
  });

  it('lag straight to 0 with Knative’s 30 s cooldown: KEDA takes 8 → 0, bypassing the HPA window; the HPA remembers', () => {
    // Same ramp until 100 s (last 80 recommendation at 90 s, last active poll at 90 s), then 0.
    // 100/110/120 s polls: not > 90 + 30 = 120 → keep; 130 s → 8 → 0 (HPA at 105/120 s held 8
    // and recorded proposals 0@105, 0@120; at 135…195 s it is disabled and records nothing).
    // Lag 1 per partition from 200 s (total 8): 200 s KEDA 0 → 1.
    // 210 s HPA: ratio 8/100 → ceil(0.08) = 1, but the window (cutoff −90 s) still has the 80s
    //   of 15…90 s → stabilized 80 → clamp(80, 1, min(8, 4)) = 4.
    // 225 s: → clamp(80, 1, min(8, 8)) = 8.  390 s: 80@90 s still counts → 8.
    // 405 s: cutoff 105 s → max(0, 0, 1, …) = 1 → 8 → 1.
    const scaler = new ConsumerScaler(config);
    const lagAt = (s: number) => (s < 5 ? 0 : s < 100 ? 1000 : s < 200 ? 0 : 1);
    expect(changes(scaler, lagAt, 450)).toEqual([
      { s: 10, by: 'keda', from: 0, to: 1 },
      { s: 15, by: 'hpa', from: 1, to: 4 },
      { s: 30, by: 'hpa', from: 4, to: 8 },
      { s: 130, by: 'keda', from: 8, to: 0 },
      { s: 200, by: 'keda', from: 0, to: 1 },
      { s: 210, by: 'hpa', from: 1, to: 4 },
      { s: 225, by: 'hpa', from: 4, to: 8 },
      { s: 405, by: 'hpa', from: 8, to: 1 },
    ]);
  });

  it('records what each decision was computed from, and every hold with reportHolds', () => {
    const scaler = new ConsumerScaler({ ...config, reportHolds: true });
    const lags = Array<number>(8).fill(1000);
    // 0 s: KEDA active at 0 → 1; then the HPA (same step) at 1: 80 → clamp(80, 1, 4) = 4.
    const d = scaler.step(0, lags);
    expect(d).toEqual([
      expect.objectContaining({ atMs: 0, by: 'keda', from: 0, to: 1, metric: 8000, activity: 8000, active: true }),
      expect.objectContaining({ atMs: 0, by: 'hpa', from: 1, to: 4, metric: 8000, proposal: 80, ratio: 80, stabilized: 80 }),
    ]);
    // 1 s: nothing due. 10 s: KEDA poll only (hold at 4).
    expect(scaler.step(1000, lags)).toEqual([]);
    expect(scaler.step(10_000, lags)).toEqual([expect.objectContaining({ by: 'keda', from: 4, to: 4 })]);
    expect(() => scaler.step(11_000, [1, 2])).toThrow(RangeError);
  });
});
