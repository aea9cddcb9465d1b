/**
 * The Kubernetes HPA (1.34) for one External AverageValue metric with `behavior` unset —
 * what KEDA generates for a ScaledObject (controllers/keda/hpa.go):
 *
 *   proposal             replica_calculator.go GetExternalPerPodMetricReplicas: ceil(usage /
 *                        target) unless |usage / (target · statusReplicas) − 1| ≤ tolerance.
 *   normalization        horizontal.go reconcileAutoscaler + normalizeDesiredReplicas:
 *                        nothing at 0 replicas; clamp into [min, max] first; otherwise the
 *                        highest recommendation of the downscale-stabilization window, capped
 *                        by max and the scale-up limit max(2 · current, 4), raised to min.
 *
 * Pure functions; test/upstream/hpa.test.ts drives the real controller over generated
 * metric traces and requires the same replicas.
 */
import { HPA_DEFAULTS } from './defaults.ts';

export interface HpaProposalInput {
  /** The metric as KEDA reports it (lag); converted to milli-units like KEDA's GenerateMetricInMili. */
  metric?: number;
  /** Or directly in milli-units. */
  metricMilli?: number;
  /** AverageValue target = lagThreshold. */
  targetPerPod: number;
  /** scale.status.replicas. */
  statusReplicas: number;
  tolerance?: number;
}

export interface HpaProposal {
  replicas: number;
  ratio: number;
  withinTolerance: boolean;
}

/** GetExternalPerPodMetricReplicas. */
export function hpaProposal(input: HpaProposalInput): HpaProposal {
  const { targetPerPod, statusReplicas, tolerance = HPA_DEFAULTS.tolerance } = input;
  const usage = input.metricMilli ?? Math.trunc((input.metric ?? Number.NaN) * 1000);
  if (!Number.isFinite(usage)) throw new RangeError('hpaProposal needs metric or metricMilli');
  const target = Math.trunc(targetPerPod * 1000);
  if (target <= 0) throw new RangeError(`targetPerPod must be > 0, got ${targetPerPod}`);
  // statusReplicas 0 gives +Inf (or NaN for 0/0): outside the tolerance, so ceil(L/T).
  const ratio = usage / (target * statusReplicas);
  const withinTolerance = 1 - tolerance <= ratio && ratio <= 1 + tolerance;
  return { replicas: withinTolerance ? statusReplicas : Math.ceil(usage / target), ratio, withinTolerance };
}

export interface HpaRecommendation {
  atMs: number;
  recommendation: number;
}

export interface HpaReconcileInput {
  proposal: number;
  /** calculateScaleUpLimit: max(factor · current, minimum). */
  scaleUpLimitFactor?: number;
  scaleUpLimitMinimum?: number;
  /** scale.spec.replicas. */
  currentReplicas: number;
  /** KEDA's HPA: max(1, minReplicaCount). */
  minReplicas: number;
  maxReplicas: number;
  nowMs: number;
  downscaleStabilizationS?: number;
}

export interface HpaReconcileResult {
  desired: number;
  history: HpaRecommendation[];
  /** Max of the recommendations in the window, when metrics were used. */
  stabilized?: number;
  reason: string;
}

/** reconcileAutoscaler guard rails + normalizeDesiredReplicas (behavior nil). Returns a new history. */
export function hpaReconcile(history: readonly HpaRecommendation[], input: HpaReconcileInput): HpaReconcileResult {
  const { proposal, currentReplicas: current, minReplicas: min, maxReplicas: max, nowMs } = input;
  const windowMs = (input.downscaleStabilizationS ?? HPA_DEFAULTS.downscaleStabilizationMs / 1000) * 1000;
  if (current === 0 && min !== 0) return { desired: 0, history: [...history], reason: 'ScalingDisabled: the replica count of the target is zero' };
  if (current > max) return { desired: max, history: [...history], reason: `current replicas above maxReplicas ${max}` };
  if (current < min) return { desired: min, history: [...history], reason: `current replicas below minReplicas ${min}` };

  // stabilizeRecommendation: a sample counts unless its timestamp is strictly before now − window.
  const cutoff = nowMs - windowMs;
  const kept = history.filter((r) => r.atMs >= cutoff);
  const stabilized = kept.reduce((m, r) => Math.max(m, r.recommendation), proposal);
  const next = [...kept, { atMs: nowMs, recommendation: proposal }];

  // convertDesiredReplicasWithRules.
  const { scaleUpLimitFactor: factor = HPA_DEFAULTS.scaleUpLimitFactor, scaleUpLimitMinimum: minimum = HPA_DEFAULTS.scaleUpLimitMinimum } = input;
  const scaleUpLimit = Math.max(factor * current, minimum);
  const allowedMax = Math.min(max, scaleUpLimit);
  let desired = stabilized;
  let reason = stabilized > proposal ? `ScaleDownStabilized: highest recommendation of the last ${windowMs / 1000} s is ${stabilized}` : `recommendation ${stabilized}`;
  if (stabilized < min) {
    desired = min;
    reason += `, raised to minReplicas ${min}`;
  } else if (stabilized > allowedMax) {
    desired = allowedMax;
    reason += max > scaleUpLimit ? `, ScaleUpLimit max(${factor}·${current}, ${minimum}) = ${scaleUpLimit}` : `, TooManyReplicas: maxReplicas ${max}`;
  }
  return { desired, history: next, stabilized, reason };
}


export interface HpaOptions {
  minReplicas: number;
  maxReplicas: number;
  /** The External metric's AverageValue target (KEDA: the lagThreshold). */
  targetAverageValue: number;
  tolerance?: number;
  downscaleStabilizationS?: number;
  scaleUpLimitFactor?: number;
  scaleUpLimitMinimum?: number;
}

export interface HpaSync {
  desired: number;
  reason: string;
  proposal?: number;
  ratio?: number;
  stabilized?: number;
}

/**
 * One HorizontalPodAutoscaler with `behavior` unset, as its controller keeps it: the
 * recommendations of the stabilization window, starting — at its first reconcile — with the
 * replicas it found (horizontal.go recordInitialRecommendation), even when scaling is
 * disabled at 0.
 */
export class Hpa {
  #history: HpaRecommendation[] | undefined;

  constructor(readonly options: HpaOptions) {}

  get history(): readonly HpaRecommendation[] {
    return this.#history ?? [];
  }

  /** What the first reconcile records: the replicas it found. */
  protected initialRecommendations(nowMs: number, currentReplicas: number): HpaRecommendation[] {
    return [{ atMs: nowMs, recommendation: currentReplicas }];
  }

  /** One reconcile at nowMs with the metric as KEDA reports it, in milli-units. */
  sync(nowMs: number, state: { currentReplicas: number; statusReplicas: number; metricMilli: number }): HpaSync {
    const o = this.options;
    this.#history ??= this.initialRecommendations(nowMs, state.currentReplicas);
    const p = hpaProposal({ metricMilli: state.metricMilli, targetPerPod: o.targetAverageValue, statusReplicas: state.statusReplicas, ...(o.tolerance !== undefined ? { tolerance: o.tolerance } : {}) });
    const r = hpaReconcile(this.#history, {
      proposal: p.replicas,
      currentReplicas: state.currentReplicas,
      minReplicas: o.minReplicas,
      maxReplicas: o.maxReplicas,
      nowMs,
      ...(o.downscaleStabilizationS !== undefined ? { downscaleStabilizationS: o.downscaleStabilizationS } : {}),
      ...(o.scaleUpLimitFactor !== undefined ? { scaleUpLimitFactor: o.scaleUpLimitFactor } : {}),
      ...(o.scaleUpLimitMinimum !== undefined ? { scaleUpLimitMinimum: o.scaleUpLimitMinimum } : {}),
    });
    this.#history = r.history;
    return r.stabilized === undefined ? { desired: r.desired, reason: r.reason } : { desired: r.desired, reason: r.reason, proposal: p.replicas, ratio: p.ratio, stabilized: r.stabilized };
  }
}
