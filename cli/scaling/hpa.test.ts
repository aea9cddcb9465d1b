/**
 * Worked examples: every expected number is derived by hand from the upstream formulas
 * (sources in the module's header); the arithmetic is in the comments. The same decisions
 * are checked against the upstream code itself in test/upstream/.
 */
import { describe, expect, it } from 'vitest';
import { partitionLag } from '../../shared/lag.ts';
import { HPA_DEFAULTS } from './defaults.ts';
import { hpaProposal, hpaReconcile, type HpaRecommendation } from './hpa.ts';
import { kafkaScalerActive, kafkaScalerMetric, kedaPoll } from './keda.ts';

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
    const r = hpaReconcile(history, { proposal, currentReplicas: current, minReplicas: 1, maxReplicas, nowMs: start.atMs + i * HPA_DEFAULTS.syncPeriodMs });
    history = r.history;
    current = r.desired;
    out.push(current);
  }
  return out;
}

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

