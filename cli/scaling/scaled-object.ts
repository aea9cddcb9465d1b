/**
 * The KEDA ScaledObject Knative Eventing Kafka generates for a KafkaSource
 * (eventing-kafka-broker knative-v1.23.x control-plane/pkg/autoscaler: keda.IsEnabled,
 * NewConfigFromMap, GenerateScaleTriggers, GenerateScaledObject; the source reconciler copies
 * the `autoscaling.eventing.knative.dev/*` annotations to the ConsumerGroup), reduced to what
 * the emulation uses: whether the source is autoscaled, the replica bounds, the polling and
 * cooldown periods, and one kafka trigger per topic. test/upstream/scaledobject.test.ts
 * compares it with the generated object.
 */
import { KAFKA_AUTOSCALER_DEFAULTS } from './defaults.ts';

export const AUTOSCALING = 'autoscaling.eventing.knative.dev/';
export const KEDA_CLASS = KAFKA_AUTOSCALER_DEFAULTS.class;

export interface KafkaTrigger {
  topic: string;
  bootstrapServers: string;
  consumerGroup: string;
  lagThreshold: number;
  /** "true" once the ConsumerGroup has placements: no partition cap on the KEDA metric. */
  allowIdleConsumers: boolean;
}

export interface ScaledObjectModel {
  minReplicaCount: number;
  maxReplicaCount: number;
  pollingIntervalS: number;
  cooldownPeriodS: number;
  triggers: KafkaTrigger[];
}

export interface KafkaSourceInput {
  annotations: Record<string, string>;
  bootstrapServers: string[];
  topics: string[];
  consumerGroup: string;
}

/** strconv.ParseInt(s, 10, 32): an optional sign and decimal digits, within int32. */
function parseInt32(text: string, what: string): number {
  if (!/^[+-]?\d+$/.test(text)) throw new RangeError(`${what} should be an integer, got "${text}"`);
  const n = Number(text);
  if (n < -(2 ** 31) || n > 2 ** 31 - 1) throw new RangeError(`${what} is out of the int32 range: "${text}"`);
  return n;
}

/** autoscaler/config.go NewConfigFromMap: the defaults, unless class is "disabled" (then every other key is ignored). */
export function autoscalerDefaultsFrom(data: Record<string, string> = {}): { minScale: number; maxScale: number; pollingIntervalS: number; cooldownPeriodS: number; lagThreshold: number } {
  const d: { minScale: number; maxScale: number; pollingIntervalS: number; cooldownPeriodS: number; lagThreshold: number } = {
    minScale: KAFKA_AUTOSCALER_DEFAULTS.minScale,
    maxScale: KAFKA_AUTOSCALER_DEFAULTS.maxScale,
    pollingIntervalS: KAFKA_AUTOSCALER_DEFAULTS.pollingIntervalS,
    cooldownPeriodS: KAFKA_AUTOSCALER_DEFAULTS.cooldownPeriodS,
    lagThreshold: KAFKA_AUTOSCALER_DEFAULTS.lagThreshold,
  };
  if (data['class'] === 'disabled') return d;
  const keys: Record<string, keyof typeof d> = { 'min-scale': 'minScale', 'max-scale': 'maxScale', 'polling-interval': 'pollingIntervalS', 'cooldown-period': 'cooldownPeriodS', 'lag-threshold': 'lagThreshold' };
  for (const [key, value] of Object.entries(data)) {
    if (key === 'class') continue;
    const field = keys[key];
    // Any other key becomes an (unused) default, but must still be an integer.
    const n = parseInt32(value, `config-kafka-autoscaler ${key}`);
    if (field) d[field] = n;
  }
  return d;
}

/**
 * The ScaledObject for a source, or undefined when it is not autoscaled (the feature flag
 * off, or a class annotation other than KEDA's; then the source runs spec.consumers).
 */
export function scaledObjectFor(source: KafkaSourceInput, autoscalerConfig: Record<string, string> = {}, options: { kedaEnabled?: boolean; hasPlacements: boolean }): ScaledObjectModel | undefined {
  if (options.kedaEnabled === false) return undefined;
  const klass = source.annotations[`${AUTOSCALING}class`];
  if (klass !== undefined && klass.length > 0 && klass !== KEDA_CLASS) return undefined;
  const defaults = autoscalerDefaultsFrom(autoscalerConfig);
  const value = (name: string, fallback: number) => {
    const text = source.annotations[AUTOSCALING + name];
    return text === undefined ? fallback : parseInt32(text, `${AUTOSCALING}${name}`);
  };
  const lagThreshold = value('lag-threshold', defaults.lagThreshold);
  return {
    cooldownPeriodS: value('cooldown-period', defaults.cooldownPeriodS),
    pollingIntervalS: value('polling-interval', defaults.pollingIntervalS),
    minReplicaCount: value('min-scale', defaults.minScale),
    maxReplicaCount: value('max-scale', defaults.maxScale),
    triggers: source.topics.map((topic) => ({
      topic,
      bootstrapServers: source.bootstrapServers.join(','),
      consumerGroup: source.consumerGroup,
      lagThreshold,
      allowIdleConsumers: options.hasPlacements,
    })),
  };
}
