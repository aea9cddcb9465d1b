/**
 * Where a KafkaSource's virtual replicas run, as Knative Eventing decides it
 * (knative.dev/eventing v0.50.0 pkg/scheduler/statefulset, driven by eventing-kafka-broker's
 * ConsumerGroup reconciler):
 *
 *   KEDA/the HPA set a ConsumerGroup's vreplicas. The scheduler places them on the pods of the
 *   `kafka-source-dispatcher` StatefulSet, at most `POD_CAPACITY` per pod over all sources
 *   (scheduler.go scheduleVPod/addReplicas: one at a time, spread over as many pods as
 *   possible, pods that do not hold the source yet first, lowest ordinal first; removal takes
 *   from the highest ordinal). With `DISPATCHERS_MIN_REPLICAS` > the source's vreplicas the
 *   target is raised to min(DISPATCHERS_MIN_REPLICAS, schedulable pods).
 *   The reconciler makes one Consumer per placement (consumergroup.go createConsumer), and the
 *   dispatcher runs one Kafka consumer per Consumer: a source's Kafka consumers = the pods it
 *   is placed on, whatever the vreplicas say.
 *   The StatefulSet autoscaler (autoscaler.go doautoscale) sets the pods to
 *   max(ceil(all vreplicas / POD_CAPACITY), DISPATCHERS_MIN_REPLICAS): at once when a
 *   placement does not fit (scale-up only), and every refresh period (100 s) also down; a
 *   refresh that changes nothing evicts placements left on pods beyond the StatefulSet
 *   (compaction), and the ConsumerGroups are rescheduled whenever the StatefulSet changes.
 *
 * Pure state, no timers: the local runtime calls it on its scaling ticks, and
 * test/upstream/placement.test.ts drives the upstream scheduler through the same steps.
 * Pods are schedulable as soon as the StatefulSet has them (a cluster also waits for the
 * pod to be bound to a node, a matter of moments).
 */

export interface Placement {
  podName: string;
  vreplicas: number;
}

export interface PlacementConfig {
  /** POD_CAPACITY. */
  podCapacity: number;
  /** DISPATCHERS_MIN_REPLICAS. */
  minReplicas: number;
  statefulSetName?: string;
  /** The StatefulSet's replicas at the start (the release YAML sets none: Kubernetes defaults it to 1). */
  initialReplicas?: number;
}

export interface ScheduleResult {
  placements: Placement[];
  /** vreplicas that found no room: the reconciler retries once the StatefulSet has grown. */
  left: number;
}

interface VPod {
  vreplicas: number;
  /** status.placements: what the last successful reconcile committed. */
  placements: Placement[];
  /**
   * The ConsumersScheduled condition: true once a reconcile has scheduled it. A later failure
   * marks another condition (MarkScheduleConsumerFailed), so it stays true.
   */
  scheduled: boolean;
}

export const DISPATCHER_STATEFULSET = 'kafka-source-dispatcher';

export function ordinalOf(podName: string): number {
  return Number(podName.slice(podName.lastIndexOf('-') + 1));
}

export function totalVReplicas(placements: readonly Placement[]): number {
  return placements.reduce((sum, p) => sum + p.vreplicas, 0);
}

export class DispatcherScheduler {
  readonly podCapacity: number;
  readonly minReplicas: number;
  readonly statefulSetName: string;
  /** The StatefulSet's spec.replicas; pods 0 … replicas − 1 exist. */
  replicas: number;
  readonly #vpods = new Map<string, VPod>();
  /** scheduler.go `reserved`: placements handed out but maybe not committed yet. */
  readonly #reserved = new Map<string, Map<string, number>>();
  /** The ConsumerGroup reconciler's work queue (no duplicates). */
  #queue: string[] = [];
  /** The replicas the pods were last created/deleted for: a change resyncs every source. */
  #podsFor: number;
  /** Sources whose last scheduling did not fit. */
  readonly unplaced = new Set<string>();

  constructor(config: PlacementConfig) {
    if (!Number.isInteger(config.podCapacity) || config.podCapacity < 1) throw new RangeError(`POD_CAPACITY must be ≥ 1, got ${config.podCapacity}`);
    if (!Number.isInteger(config.minReplicas) || config.minReplicas < 0) throw new RangeError(`DISPATCHERS_MIN_REPLICAS must be ≥ 0, got ${config.minReplicas}`);
    this.podCapacity = config.podCapacity;
    this.minReplicas = config.minReplicas;
    this.statefulSetName = config.statefulSetName ?? DISPATCHER_STATEFULSET;
    this.replicas = config.initialReplicas ?? 1;
    this.#podsFor = this.replicas;
  }

  podName(ordinal: number): string {
    return `${this.statefulSetName}-${ordinal}`;
  }

  /** The source's ConsumerGroup spec.replicas (what KEDA/the HPA decided). */
  setVReplicas(key: string, vreplicas: number): void {
    const vpod = this.#vpods.get(key);
    if (vpod) vpod.vreplicas = vreplicas;
    else this.#vpods.set(key, { vreplicas, placements: [], scheduled: false });
  }

  vreplicasOf(key: string): number {
    return this.#vpods.get(key)?.vreplicas ?? 0;
  }

  /** status.placements of the source: one Kafka consumer per entry. */
  placementsOf(key: string): readonly Placement[] {
    return this.#vpods.get(key)?.placements ?? [];
  }

  get keys(): string[] {
    return [...this.#vpods.keys()];
  }

  /** All vreplicas asked for (state.go TotalExpectedVReplicas). */
  get totalVReplicas(): number {
    let total = 0;
    for (const v of this.#vpods.values()) total += v.vreplicas;
    return total;
  }

  /**
   * One ConsumerGroup reconcile's scheduling step: Schedule, and on success commit the
   * placements as its status, sorted by pod name (consumergroup.go `schedule`). When vreplicas
   * do not fit, the autoscaler is triggered (scale-up) and nothing is committed: the
   * reconciler retries.
   */
  reconcile(key: string): ScheduleResult {
    const result = this.schedule(key);
    if (result.left > 0) {
      this.unplaced.add(key);
      this.autoscale(false);
    } else {
      this.unplaced.delete(key);
      this.#vpods.get(key)!.scheduled = true;
      this.#vpods.get(key)!.placements = result.placements.map((p) => ({ ...p })).sort((a, b) => (a.podName < b.podName ? -1 : a.podName > b.podName ? 1 : 0));
    }
    return result;
  }

  /** Queues sources for the reconciler (a source already queued keeps its place). */
  enqueue(...keys: string[]): void {
    for (const key of keys) if (!this.#queue.includes(key)) this.#queue.push(key);
  }

  /**
   * Reconciles the queued sources until the queue is empty. A source that does not fit is
   * queued again (a cluster requeues it after 5 s), at most `maxAttempts` times a drain; when
   * the StatefulSet's replicas change, its pods follow and every source is queued again
   * (the controller's ResyncOnStatefulSetChange).
   */
  drain(maxAttempts = 8): void {
    const attempts = new Map<string, number>();
    for (let key = this.#queue.shift(); key !== undefined; key = this.#queue.shift()) {
      attempts.set(key, (attempts.get(key) ?? 0) + 1);
      const { left } = this.reconcile(key);
      this.#resyncIfScaled();
      if (left > 0 && attempts.get(key)! < maxAttempts) this.enqueue(key);
    }
  }

  /**
   * The autoscaler's periodic run (every AUTOSCALER_REFRESH_PERIOD): scale down, or compact;
   * evicted sources and, after a change, all of them are rescheduled.
   */
  refresh(): { replicas: number; evicted: string[] } {
    const result = this.autoscale(true);
    this.enqueue(...result.evicted);
    this.#resyncIfScaled();
    this.drain();
    return result;
  }

  #resyncIfScaled(): void {
    if (this.replicas === this.#podsFor) return;
    this.#podsFor = this.replicas;
    this.enqueue(...this.#vpods.keys());
  }

  /** StatefulSetScheduler.Schedule: placements for the source's vreplicas, reserved until committed. */
  schedule(key: string): ScheduleResult {
    const vpod = this.#vpods.get(key);
    if (!vpod) throw new RangeError(`no ConsumerGroup ${key}`);
    const result = this.#scheduleVPod(key, vpod);
    result.placements.sort((a, b) => ordinalOf(a.podName) - ordinalOf(b.podName));
    if (result.placements.length === 0) this.#reserved.delete(key);
    else this.#reserved.set(key, new Map(result.placements.map((p) => [p.podName, p.vreplicas])));
    return result;
  }

  /**
   * autoscaler.go doautoscale: the StatefulSet's replicas for all vreplicas. Scale-up only,
   * unless `attemptScaleDown` (the refresh period); a refresh that changes nothing evicts the
   * placements on pods beyond the StatefulSet (compaction). Returns the sources whose
   * placements changed (the reconciler reschedules them).
   */
  autoscale(attemptScaleDown: boolean): { replicas: number; evicted: string[] } {
    let wanted = Math.max(Math.ceil(this.totalVReplicas / this.podCapacity), this.minReplicas);
    if (!attemptScaleDown && wanted < this.replicas) wanted = this.replicas;
    if (wanted !== this.replicas) {
      this.replicas = wanted;
      return { replicas: wanted, evicted: [] };
    }
    if (!attemptScaleDown) return { replicas: wanted, evicted: [] };
    // mayCompact: only when some placement sits beyond the StatefulSet (len(FreeCap) grows to cover it).
    const evicted: string[] = [];
    for (const [key, vpod] of this.#vpods) {
      // The evictor leaves a ConsumerGroup that was never scheduled as it is (evictor.go IsNotScheduled).
      if (!vpod.scheduled) continue;
      const kept = vpod.placements.filter((p) => ordinalOf(p.podName) < this.replicas);
      if (kept.length !== vpod.placements.length) {
        vpod.placements = kept;
        evicted.push(key);
      }
    }
    return { replicas: this.replicas, evicted };
  }

  #scheduleVPod(key: string, vpod: VPod): ScheduleResult {
    const capacity = this.podCapacity;
    const schedulable = (ordinal: number) => ordinal >= 0 && ordinal < this.replicas;

    const reservedByPod = new Map<string, number>();
    for (const placements of this.#reserved.values()) {
      for (const [pod, n] of placements) reservedByPod.set(pod, (reservedByPod.get(pod) ?? 0) + n);
    }

    // The reserved placements are the starting point; drop unschedulable pods, trim overcommitted ones.
    const existing = [...(this.#reserved.get(key) ?? new Map<string, number>())]
      .map(([podName, vreplicas]) => ({ podName, vreplicas }))
      .sort((a, b) => ordinalOf(a.podName) - ordinalOf(b.podName));
    let placements: Placement[] = [];
    for (const original of existing) {
      const p = { ...original };
      if (!schedulable(ordinalOf(p.podName))) continue;
      const reserved = reservedByPod.get(p.podName) ?? 0;
      if (capacity - reserved < 0) {
        const overcommit = reserved - capacity;
        if (p.vreplicas >= overcommit) {
          reservedByPod.set(p.podName, reserved - overcommit);
          p.vreplicas -= overcommit;
        } else {
          reservedByPod.set(p.podName, reserved - p.vreplicas);
          p.vreplicas = 0;
        }
      }
      if (p.vreplicas > 0) placements.push(p);
    }

    // With DISPATCHERS_MIN_REPLICAS above the vreplicas, spread over that many pods anyway.
    let target = vpod.vreplicas;
    if (this.minReplicas > target) {
      target = Math.min(this.minReplicas, this.replicas);
      if (target < vpod.vreplicas) target = vpod.vreplicas;
    }

    const placed = totalVReplicas(placements);
    if (placed === target) return { placements, left: 0 };
    if (placed > target) return { placements: removeReplicas(placed - target, placements), left: 0 };

    // addReplicas
    if (this.replicas <= 0) return { placements, left: target - placed };
    const next = placements.map((p) => ({ ...p }));
    const candidates = this.#candidates(key, placements);
    let diff = target - placed;
    let found = true;
    while (diff > 0 && found) {
      found = false;
      for (const ordinal of candidates) {
        if (diff <= 0) break;
        const podName = this.podName(ordinal);
        const reserved = reservedByPod.get(podName) ?? 0;
        if (capacity - reserved > 0) {
          found = true;
          const entry = next.find((p) => p.podName === podName);
          if (entry) entry.vreplicas++;
          else next.push({ podName, vreplicas: 1 });
          diff--;
          reservedByPod.set(podName, reserved + 1);
        }
      }
    }
    placements = next;
    return { placements, left: diff };
  }

  /** candidatesOrdered: pods without this source first (reserved-only ones, then lowest ordinal), pods holding it last. */
  #candidates(key: string, placements: readonly Placement[]): number[] {
    const holding: number[] = [];
    const seen = new Set<string>();
    for (let i = placements.length - 1; i >= 0; i--) {
      const p = placements[i]!;
      const ordinal = ordinalOf(p.podName);
      if (ordinal >= this.replicas || seen.has(p.podName)) continue;
      holding.push(ordinal);
      seen.add(p.podName);
    }
    const head: number[] = [];
    for (const podName of this.#reserved.get(key)?.keys() ?? []) {
      const ordinal = ordinalOf(podName);
      if (ordinal >= this.replicas || seen.has(podName)) continue;
      head.push(ordinal);
      seen.add(podName);
    }
    const free: number[] = [];
    for (let ordinal = 0; ordinal < this.replicas; ordinal++) if (!seen.has(this.podName(ordinal))) free.push(ordinal);
    // The tail is filled from the end: holding pods last (the last placement at the very end), free pods before them.
    return [...head, ...free, ...holding.reverse()];
  }
}

/** removeReplicas: takes vreplicas away starting from the highest-ordinal placement. */
function removeReplicas(diff: number, placements: readonly Placement[]): Placement[] {
  const kept: Placement[] = [];
  for (let i = placements.length - 1; i >= 0; i--) {
    const p = placements[i]!;
    if (diff >= p.vreplicas) {
      diff -= p.vreplicas;
    } else {
      kept.push({ podName: p.podName, vreplicas: p.vreplicas - diff });
      diff = 0;
    }
  }
  return kept;
}
