/**
 * Knative's KPA for one Service (knative-v1.23.0), in two parts as upstream has them:
 *
 *   KpaDecider   the autoscaler proper (pkg/autoscaler/scaling/autoscaler.go Scale) over the
 *                metric collector's windows (pkg/autoscaler/metrics/collector.go: one
 *                TimedFloat64Buckets of 1 s buckets for the 60 s stable window and one for
 *                the 6 s panic window, pkg/autoscaler/aggregation/bucketing.go):
 *                ceil(average / (target · utilization)) pods, at most ×1000 up and ÷2 down per
 *                decision, panic mode (no scale-down) while the panic average asks for ≥ 2×
 *                the ready pods and for a stable window after; no data in the stable window
 *                → no decision. test/upstream/kpa.test.ts checks it against Knative's own.
 *   Kpa          what the KPA reconciler adds (pkg/reconciler/autoscaling/kpa/scaler.go):
 *                a decision every 2 s tick, min/max-scale, and scale-to-zero only after a
 *                stable window of no requests and the 30 s grace period. That part needs the
 *                whole reconciler (informers, activator probes, the wall clock) and is not
 *                driven upstream; it follows the code as read.
 *
 * The settings, resolved from a revision's annotations, come from kpa-options.ts.
 *
 * Simplifications: the revision is always reachable; no scale-down-delay,
 * activation-scale > 1, target-burst-capacity or initial-scale (the runtime starts one
 * instance, as initial-scale 1 does); the activator probe and the SKS proxy mode are not
 * modelled. Scale-from-zero is decided at once when requests wait at the activator (it
 * "pokes" the autoscaler), otherwise once per tick.
 */
import { KPA_BUCKET_MS, KPA_DEFAULTS, KPA_TICK_MS, stripUndefined } from './defaults.ts';
import type { KpaOptions } from './kpa-options.ts';

/** aggregation.roundToNDigits(6, x). */
function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

/** aggregation.TimedFloat64Buckets: values summed per bucket over a sliding window. */
export class TimedBuckets {
  readonly #buckets = new Map<number, number>();
  #firstWrite: number | undefined;
  #lastWrite: number | undefined;

  /** windowMs and granularityMs as Knative sizes them (the window in whole buckets). */
  constructor(
    readonly windowMs: number,
    readonly granularityMs: number = KPA_BUCKET_MS,
  ) {}

  /** NewTimedFloat64Buckets: ceil(window / granularity) buckets. */
  get #size(): number {
    return Math.ceil(this.windowMs / this.granularityMs);
  }

  #bucketOf(ms: number): number {
    return Math.floor(ms / this.granularityMs);
  }

  /** Record: a write a whole window after the last one starts afresh; writes older than a window are dropped. */
  record(nowMs: number, value: number): void {
    const b = this.#bucketOf(nowMs);
    if (this.#lastWrite !== undefined && b !== this.#lastWrite) {
      if (b + this.#size <= this.#lastWrite) return;
      if (b > this.#lastWrite && b - this.#lastWrite >= this.#size) {
        this.#buckets.clear();
        this.#firstWrite = b;
      }
      if (this.#firstWrite === undefined || this.#firstWrite > b) this.#firstWrite = b;
      if (b > this.#lastWrite) this.#lastWrite = b;
    } else if (this.#lastWrite === undefined) {
      this.#firstWrite = b;
      this.#lastWrite = b;
    }
    this.#buckets.set(b, (this.#buckets.get(b) ?? 0) + value);
    for (const k of this.#buckets.keys()) if (k <= this.#lastWrite! - this.#size) this.#buckets.delete(k);
  }

  /** IsEmpty: nothing written within the window before now. */
  isEmpty(nowMs: number): boolean {
    return this.#lastWrite === undefined || this.#bucketOf(nowMs) - this.#lastWrite > this.#size;
  }

  /** WindowAverage: the total of the buckets inside the window over the buckets since the first write. */
  average(nowMs: number): number {
    const last = this.#lastWrite;
    const first = this.#firstWrite;
    if (last === undefined || first === undefined) return 0;
    const now = this.#bucketOf(nowMs);
    const gap = now - last;
    if (gap >= this.#size) return 0;
    const from = Math.max(gap <= 0 ? last - this.#size + 1 : now - this.#size + 1, first);
    let total = 0;
    for (const [k, v] of this.#buckets) if (k >= from && k <= last) total += v;
    const count = Math.min(last - first + 1, this.#size - Math.max(0, gap));
    return round6(total / count);
  }
}

export interface DeciderResult {
  /** False when there is no data in the stable window: Knative keeps the current scale. */
  valid: boolean;
  desired: number;
  panic: boolean;
  stable: number;
  panicAverage: number;
  reason: string;
}

/** The KPA decider of one revision (autoscaler.go Scale) with its metric windows. */
export class KpaDecider {
  readonly options: Required<KpaOptions>;
  readonly #stable: TimedBuckets;
  readonly #panic: TimedBuckets;
  /** autoscaler.panicTime: last time the panic threshold was crossed. */
  #panicTimeMs: number | undefined;
  #maxPanicPods = 0;

  constructor(options: KpaOptions = {}) {
    const o = { ...KPA_DEFAULTS, ...stripUndefined(options) };
    if (!(o.target > 0)) throw new RangeError(`target must be > 0, got ${o.target}`);
    if (o.minScale < 0 || o.maxScale < 0 || (o.maxScale !== 0 && o.minScale > o.maxScale)) throw new RangeError(`invalid scale bounds min=${o.minScale} max=${o.maxScale}`);
    this.options = o;
    this.#stable = new TimedBuckets(o.stableWindowMs);
    // MakeMetric: the panic window is a percentage of the stable one, rounded to the second, at least one bucket.
    this.#panic = new TimedBuckets(Math.max(KPA_BUCKET_MS, Math.round((o.stableWindowMs * o.panicWindowPercentage) / 100 / 1000) * 1000));
  }

  /** ResolveMetricTarget: max(0.01, target × utilization as a fraction) — the in-flight requests a pod is sized for. */
  get targetValue(): number {
    return Math.max(0.01, this.options.target * (this.options.targetUtilizationPercentage / 100));
  }

  /** One scrape: the in-flight requests of all pods together at nowMs (collector.record). */
  record(nowMs: number, inFlight: number): void {
    this.#stable.record(nowMs, inFlight);
    this.#panic.record(nowMs, inFlight);
  }

  averages(nowMs: number): { stable: number; panic: number } {
    return { stable: this.#stable.average(nowMs), panic: this.#panic.average(nowMs) };
  }

  scale(nowMs: number, readyPods: number): DeciderResult {
    const o = this.options;
    if (this.#stable.isEmpty(nowMs)) return { valid: false, desired: -1, panic: this.#panicTimeMs !== undefined, stable: 0, panicAverage: 0, reason: 'no data to scale on yet' };
    const ready = Math.max(1, readyPods);
    const maxScaleUp = Math.ceil(o.maxScaleUpRate * ready);
    const maxScaleDown = Math.floor(ready / o.maxScaleDownRate);
    const { stable, panic: panicAverage } = this.averages(nowMs);
    const dspc = Math.ceil(stable / this.targetValue);
    const dppc = Math.ceil(panicAverage / this.targetValue);
    const desiredStable = Math.min(Math.max(dspc, maxScaleDown), maxScaleUp);
    const desiredPanic = Math.min(Math.max(dppc, maxScaleDown), maxScaleUp);
    const overPanicThreshold = dppc / ready >= o.panicThresholdPercentage / 100;
    if (overPanicThreshold) {
      this.#panicTimeMs = nowMs;
    } else if (this.#panicTimeMs !== undefined && this.#panicTimeMs + o.stableWindowMs < nowMs) {
      this.#panicTimeMs = undefined;
      this.#maxPanicPods = 0;
    }
    const panic = this.#panicTimeMs !== undefined;
    let desired = desiredStable;
    let reason = `stable avg ${stable} / ${this.targetValue} → ${dspc}`;
    if (desiredStable !== dspc) reason += `, rate-limited to ${desiredStable}`;
    if (panic) {
      desired = Math.max(desired, desiredPanic);
      if (desired > this.#maxPanicPods) this.#maxPanicPods = desired;
      reason = `panic (panic avg ${panicAverage} / ${this.targetValue} → ${dppc} vs ${ready} ready): ${this.#maxPanicPods}, no scale-down while panicking`;
      desired = this.#maxPanicPods;
    }
    return { valid: true, desired, panic, stable, panicAverage, reason };
  }
}

export interface KpaDecision {
  desired: number;
  panic: boolean;
  reason: string;
  stable: number;
  panicAverage: number;
}

/** The KPA of one Service: the decider every tick, then bounds and scale-to-zero (kpa/scaler.go). */
export class Kpa {
  readonly decider: KpaDecider;
  #lastScrapeBucket: number | undefined;
  #lastInFlight = 0;
  #activeSinceMs: number | undefined;
  #inactiveSinceMs: number | undefined;
  #nextTickMs: number | undefined;
  #last: KpaDecision | undefined;

  constructor(options: KpaOptions = {}) {
    this.decider = new KpaDecider(options);
  }

  get options(): Required<KpaOptions> {
    return this.decider.options;
  }

  /**
   * The in-flight requests of all pods (and the activator's queue) at nowMs. Knative scrapes
   * once a second, and several records of one second add up: so one per second is kept.
   */
  observe(nowMs: number, inFlight: number): void {
    if (!(inFlight >= 0)) throw new RangeError(`inFlight must be ≥ 0, got ${inFlight}`);
    this.#lastInFlight = inFlight;
    const bucket = Math.floor(nowMs / KPA_BUCKET_MS);
    if (bucket === this.#lastScrapeBucket) return;
    this.#lastScrapeBucket = bucket;
    this.decider.record(nowMs, inFlight);
  }

  /**
   * The number of pods the KPA wants at nowMs given currentPods ready pods. Computes at most
   * once per 2 s tick (returning the previous decision in between), except at once when there
   * are no pods and requests are waiting (the activator pokes the autoscaler).
   */
  decide(nowMs: number, currentPods: number): KpaDecision {
    const poke = currentPods === 0 && this.#lastInFlight > 0 && this.#last?.desired === 0;
    if (this.#last && this.#nextTickMs !== undefined && nowMs < this.#nextTickMs && !poke) {
      return { ...this.#last, reason: `between ticks: ${this.#last.reason}` };
    }
    let next = (this.#nextTickMs ?? nowMs) + KPA_TICK_MS;
    while (next <= nowMs) next += KPA_TICK_MS;
    this.#nextTickMs = next;
    this.#last = this.#scale(nowMs, currentPods);
    return this.#last;
  }

  #scale(nowMs: number, currentPods: number): KpaDecision {
    const o = this.options;
    const d = this.decider.scale(nowMs, currentPods);
    // An invalid decision keeps the current scale (with requests waiting at zero: one pod).
    let desired = d.valid ? d.desired : Math.max(currentPods, this.#lastInFlight > 0 ? 1 : 0);
    let reason = d.reason;
    const result = (n: number, why: string): KpaDecision => ({ desired: n, panic: d.panic, stable: d.stable, panicAverage: d.panicAverage, reason: why });

    // scaler.Scale: applyBounds, then handleScaleToZero.
    if (desired < o.minScale) {
      desired = o.minScale;
      reason += `, min-scale ${o.minScale}`;
    } else if (o.maxScale !== 0 && desired > o.maxScale) {
      desired = o.maxScale;
      reason += `, max-scale ${o.maxScale}`;
    }
    if (currentPods > 0) this.#activeSinceMs ??= nowMs;
    else this.#activeSinceMs = undefined;
    if (desired === 0 && currentPods > 0) {
      const activeFor = nowMs - (this.#activeSinceMs ?? nowMs);
      if (activeFor < o.stableWindowMs) {
        this.#inactiveSinceMs = undefined;
        return result(1, `${reason}; active for ${activeFor} ms < stable window: hold 1`);
      }
      this.#inactiveSinceMs ??= nowMs;
      const inactiveFor = nowMs - this.#inactiveSinceMs;
      if (inactiveFor < o.scaleToZeroGracePeriodMs) return result(currentPods, `${reason}; inactive for ${inactiveFor} ms < grace period ${o.scaleToZeroGracePeriodMs} ms`);
      return result(0, `${reason}; inactive for the grace period: scale to 0`);
    }
    if (desired > 0) this.#inactiveSinceMs = undefined;
    return result(desired, reason);
  }
}
