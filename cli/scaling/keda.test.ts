/**
 * Worked examples: every expected number is derived by hand from the upstream formulas
 * (sources in the module's header); the arithmetic is in the comments. The same decisions
 * are checked against the upstream code itself in test/upstream/.
 */
import { describe, expect, it } from 'vitest';
import { kafkaScalerActive, kafkaScalerMetric, kedaPoll } from './keda.ts';

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

