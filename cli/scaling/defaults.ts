/**
 * Upstream defaults the emulation and the manifest model rely on, in one place, each with
 * the upstream file it comes from. Versions: KEDA v2.20.2, Kubernetes 1.34,
 * Knative Serving and Eventing knative-v1.23.0, eventing-kafka-broker knative-v1.23.1.
 * What this project sets instead of a default lives in the manifests (knative/, keda/),
 * never here.
 */

/** The options that are set: spread over these defaults, an `undefined` would override one. */
export function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** kube-controller-manager HPA flags (pkg/controller/podautoscaler/config/v1alpha1/defaults.go). */
export const HPA_DEFAULTS = {
  /** --horizontal-pod-autoscaler-sync-period. */
  syncPeriodMs: 15_000,
  /** --horizontal-pod-autoscaler-tolerance. */
  tolerance: 0.1,
  /** --horizontal-pod-autoscaler-downscale-stabilization. */
  downscaleStabilizationMs: 300_000,
  /** horizontal.go calculateScaleUpLimit: max(scaleUpLimitFactor · current, scaleUpLimitMinimum). */
  scaleUpLimitFactor: 2,
  scaleUpLimitMinimum: 4,
} as const;

/** KEDA Kafka trigger defaults (kedacore/keda pkg/scalers/kafka_scaler.go kafkaMetadata). */
export const KEDA_KAFKA_DEFAULTS = {
  /** Knative's generated trigger sets none since eventing-kafka-broker PR #3479. */
  activationLagThreshold: 0,
  offsetResetPolicy: 'latest',
} as const;

/**
 * Knative Eventing Kafka's KEDA integration (`config-kafka-autoscaler` as shipped;
 * eventing-kafka-broker control-plane/pkg/autoscaler/autoscaler_api.go).
 */
export const KAFKA_AUTOSCALER_DEFAULTS = {
  class: 'keda.autoscaling.knative.dev',
  minScale: 0,
  maxScale: 50,
  pollingIntervalS: 10,
  cooldownPeriodS: 30,
  lagThreshold: 100,
} as const;

/**
 * The KafkaSource dispatcher plane as shipped (eventing-kafka-broker
 * control-plane/config/eventing-kafka-broker/200-controller/500-controller.yaml env,
 * data-plane/config/source/100-config-kafka-source-data-plane.yaml consumer properties).
 * keda/releases.yaml patches some of them; the local runtime reads the patched values.
 */
export const DISPATCHER_DEFAULTS = {
  /** POD_CAPACITY: virtual replicas a kafka-source-dispatcher pod may hold. */
  podCapacity: 20,
  /** DISPATCHERS_MIN_REPLICAS. */
  minReplicas: 0,
  /** AUTOSCALER_REFRESH_PERIOD (s): how often the StatefulSet autoscaler tries to scale down. */
  refreshPeriodS: 100,
  /** max.poll.records: an unordered consumer polls again only below this many in flight. */
  maxPollRecords: 50,
  /** auto.commit.interval.ms: the dispatcher commits offsets this often. */
  commitIntervalMs: 5_000,
} as const;

/** Knative Serving `config-autoscaler` (serving config/core/configmaps/autoscaler.yaml). */
export const KPA_DEFAULTS = {
  /** container-concurrency-target-default. */
  target: 100,
  /** container-concurrency-target-percentage. */
  targetUtilizationPercentage: 70,
  stableWindowMs: 60_000,
  panicWindowPercentage: 10,
  panicThresholdPercentage: 200,
  maxScaleUpRate: 1000,
  maxScaleDownRate: 2,
  scaleToZeroGracePeriodMs: 30_000,
  minScale: 0,
  /** 0 = unbounded (Knative's convention). */
  maxScale: 0,
} as const;

/** pkg/autoscaler/autoscaler.go tickInterval; pkg/autoscaler/metrics bucket size. */
export const KPA_TICK_MS = 2_000;
export const KPA_BUCKET_MS = 1_000;

/** Kubernetes PodSpec defaults (core/v1). */
export const POD_DEFAULTS = {
  /** terminationGracePeriodSeconds: SIGTERM, then SIGKILL once this has passed. */
  terminationGracePeriodMs: 30_000,
} as const;

/** Knative Serving `config-defaults` (serving config/core/configmaps/defaults.yaml). */
export const SERVING_DEFAULTS = {
  containerConcurrency: 0,
  timeoutSeconds: 300,
  maxRevisionTimeoutSeconds: 600,
} as const;

/** KafkaSource delivery: what the source reconciler injects when `spec.delivery` is absent (source.go). */
export const DELIVERY_WHEN_ABSENT = { retry: 10, backoffPolicy: 'exponential', backoffDelayMs: 300, timeoutMs: 600_000 } as const;
/** Inside a `delivery` block, unset fields are not filled from the above (consumer.go passes 200 ms; WebClientCloudEventSender 600 s). */
export const DELIVERY_FIELD_DEFAULTS = { retry: 0, backoffPolicy: 'exponential', backoffDelayMs: 200, timeoutMs: 600_000 } as const;

/**
 * Source fields Knative fills in when the manifest leaves them out (eventing-kafka-broker
 * control-plane/pkg/apis/sources/v1/kafka_defaults.go, eventing pkg/apis/sources/v1/ping_defaults.go).
 */
export const KAFKA_SOURCE_DEFAULTS = { consumers: 1, initialOffset: 'latest', ordering: 'ordered' } as const;
export const PING_SOURCE_DEFAULTS = { schedule: '* * * * *' } as const;
