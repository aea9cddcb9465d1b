/**
 * The KPA's settings for one revision: its template's autoscaling annotations over
 * `config-autoscaler` (empty = Knative's defaults), as Knative validates and resolves them
 * (serving apis/autoscaling/annotation_validation.go ValidateAnnotations;
 * reconciler/autoscaling/resources/target.go ResolveMetricTarget, StableWindow;
 * kpa/resources/decider.go MakeDecider). A value the Service webhook would refuse throws;
 * so does a setting this emulation does not model (another class or metric, other
 * annotations or config keys), rather than being ignored.
 */
import { KPA_DEFAULTS, stripUndefined } from './defaults.ts';

export interface KpaOptions {
  /** Per-pod concurrency target (`autoscaling.knative.dev/target`). */
  target?: number;
  targetUtilizationPercentage?: number;
  stableWindowMs?: number;
  panicWindowPercentage?: number;
  panicThresholdPercentage?: number;
  maxScaleUpRate?: number;
  maxScaleDownRate?: number;
  scaleToZeroGracePeriodMs?: number;
  minScale?: number;
  /** 0 = unbounded. */
  maxScale?: number;
}

const ANNOTATION = 'autoscaling.knative.dev/';
const MODELLED_ANNOTATIONS = new Set(['class', 'metric', 'target', 'target-utilization-percentage', 'window', 'panic-window-percentage', 'panic-threshold-percentage', 'min-scale', 'max-scale']);

type ConfigField = keyof KpaOptions | 'targetDefault';

/** The `config-autoscaler` keys the emulation models, and the setting each one is. */
const CONFIG_KEYS: Record<string, ConfigField> = {
  'container-concurrency-target-default': 'targetDefault',
  'container-concurrency-target-percentage': 'targetUtilizationPercentage',
  'stable-window': 'stableWindowMs',
  'panic-window-percentage': 'panicWindowPercentage',
  'panic-threshold-percentage': 'panicThresholdPercentage',
  'max-scale-up-rate': 'maxScaleUpRate',
  'max-scale-down-rate': 'maxScaleDownRate',
  'scale-to-zero-grace-period': 'scaleToZeroGracePeriodMs',
  'max-scale': 'maxScale',
};

/** Go's time.ParseDuration for the units Knative's settings use ("60s", "1m30s", "500ms"). */
export function parseGoDurationMs(text: string): number {
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) throw new RangeError(`"${text}" is not a duration like 60s or 1m30s`);
  return parts.reduce((ms, p) => ms + Number(p[1]) * units[p[2]!]!, 0);
}

/** strconv.ParseFloat's decimal forms. */
const GO_FLOAT = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

function configFrom(configAutoscaler: Record<string, string>): Partial<Record<ConfigField, number>> {
  const config: Partial<Record<ConfigField, number>> = {};
  for (const [key, value] of Object.entries(configAutoscaler)) {
    const field = CONFIG_KEYS[key];
    if (!field) throw new RangeError(`config-autoscaler ${key} is not modelled by the KPA emulation`);
    config[field] = field.endsWith('Ms') ? parseGoDurationMs(value) : Number(value);
  }
  return config;
}

/** Readers of a revision's annotations, each refusing what annotation_validation.go refuses. */
function annotationReader(annotations: Record<string, string>) {
  const text = (name: string): string | undefined => annotations[ANNOTATION + name];
  return {
    text,
    float(name: string, min: number, max: number): number | undefined {
      const value = text(name);
      if (value === undefined) return undefined;
      if (!GO_FLOAT.test(value)) throw new RangeError(`invalid value: ${value}: ${ANNOTATION}${name}`);
      const n = Number(value);
      if (n < min || n > max) throw new RangeError(`expected ${min} <= ${value} <= ${max}: ${ANNOTATION}${name}`);
      return n;
    },
    int(name: string): number | undefined {
      const value = text(name);
      if (value === undefined) return undefined;
      if (!/^[+-]?\d+$/.test(value) || Math.abs(Number(value)) > 2 ** 31 - 1) throw new RangeError(`invalid value: ${value}: ${ANNOTATION}${name}`);
      if (Number(value) < 0) throw new RangeError(`expected 0 <= ${value} <= 2147483647: ${ANNOTATION}${name}`);
      return Number(value);
    },
  };
}

/** The `window` annotation: a duration from 6 s to 1 h, in whole seconds. */
function stableWindowMsOf(text: string): number {
  let ms: number;
  try {
    ms = parseGoDurationMs(text);
  } catch {
    throw new RangeError(`invalid value: ${text}: ${ANNOTATION}window`);
  }
  if (ms < 6_000 || ms > 3_600_000) throw new RangeError(`expected 6s <= ${text} <= 1h0m0s: ${ANNOTATION}window`);
  if (ms % 1000 !== 0) throw new RangeError(`must be specified with at most second precision: ${ANNOTATION}window`);
  return ms;
}

/** The class and metric must be the KPA on concurrency: the only ones modelled. */
function requireKpaOnConcurrency(klass: string, metric: string): void {
  if (klass.endsWith('.knative.dev') && klass !== 'kpa.autoscaling.knative.dev' && klass !== 'hpa.autoscaling.knative.dev') throw new RangeError(`invalid value: ${klass}: ${ANNOTATION}class`);
  if (klass !== 'kpa.autoscaling.knative.dev') throw new RangeError(`class ${klass} is not the KPA: not modelled`);
  if (metric !== 'concurrency' && metric !== 'rps') throw new RangeError(`invalid value: ${metric}: ${ANNOTATION}metric`);
  if (metric !== 'concurrency') throw new RangeError(`metric ${metric} is not modelled (concurrency only)`);
}

export function kpaOptionsFrom(annotations: Record<string, string>, configAutoscaler: Record<string, string> = {}, containerConcurrency = 0): KpaOptions & { target: number; minScale: number; maxScale: number } {
  for (const key of Object.keys(annotations)) {
    if (key.startsWith(ANNOTATION) && !MODELLED_ANNOTATIONS.has(key.slice(ANNOTATION.length))) throw new RangeError(`${key} is not modelled by the KPA emulation`);
  }
  const config = configFrom(configAutoscaler);
  const a = annotationReader(annotations);
  requireKpaOnConcurrency(a.text('class') ?? 'kpa.autoscaling.knative.dev', a.text('metric') ?? 'concurrency');
  const annotated = a.float('target', 0.01, Number.POSITIVE_INFINITY);
  const utilization = a.float('target-utilization-percentage', 1, 100);
  const panicWindowPercentage = a.float('panic-window-percentage', 1, 100);
  const panicThresholdPercentage = a.float('panic-threshold-percentage', 110, 1000);
  const window = a.text('window');
  const stableWindowMs = window === undefined ? config.stableWindowMs : stableWindowMsOf(window);
  const minScale = a.int('min-scale') ?? KPA_DEFAULTS.minScale;
  const maxScale = a.int('max-scale') ?? config.maxScale ?? KPA_DEFAULTS.maxScale;
  if (maxScale !== 0 && maxScale < minScale) throw new RangeError(`max-scale=${maxScale} is less than min-scale=${minScale}`);
  // ResolveMetricTarget: containerConcurrency, else the default; the annotation wins, capped by containerConcurrency.
  let target = containerConcurrency > 0 ? containerConcurrency : (config.targetDefault ?? KPA_DEFAULTS.target);
  if (annotated !== undefined) target = containerConcurrency > 0 ? Math.min(annotated, containerConcurrency) : annotated;
  return {
    ...(stripUndefined({
      targetUtilizationPercentage: utilization ?? config.targetUtilizationPercentage,
      stableWindowMs,
      panicWindowPercentage: panicWindowPercentage ?? config.panicWindowPercentage,
      panicThresholdPercentage: panicThresholdPercentage ?? config.panicThresholdPercentage,
      maxScaleUpRate: config.maxScaleUpRate,
      maxScaleDownRate: config.maxScaleDownRate,
      scaleToZeroGracePeriodMs: config.scaleToZeroGracePeriodMs,
    }) as KpaOptions),
    target,
    minScale,
    maxScale,
  };
}
