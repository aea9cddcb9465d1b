/**
 * Cross-checks of the event sources and sinks: the KEDA integration's annotations and what
 * they add up to against the topic table, KafkaSink topics, and PingSource schedules and
 * payloads the eventing webhook would refuse.
 */
import { CronExpressionParser } from 'cron-parser';
import type { TopicSpec } from '../../shared/topology.ts';
import { PING_SOURCE_DEFAULTS } from '../scaling/defaults.ts';
import { AUTOSCALING, KEDA_CLASS, type autoscalerDefaultsFrom } from '../scaling/scaled-object.ts';
import { type K8sObject, type Report, dig } from './objects.ts';
import { annotations, asString } from './readers.ts';

const KEDA_ANNOTATION_KEYS = ['class', 'min-scale', 'max-scale', 'polling-interval', 'cooldown-period', 'lag-threshold'];

/** A KafkaSource's scaling annotations, and its max-scale against the partitions of its topics. */
export function kafkaSourceProblems(source: K8sObject, defaults: ReturnType<typeof autoscalerDefaultsFrom>, topics: TopicSpec[], add: Report): void {
  const a = annotations(source);
  for (const key of Object.keys(a).filter((k) => k.startsWith(AUTOSCALING))) {
    const name = key.slice(AUTOSCALING.length);
    if (name === 'activation-lag-threshold') add(source, `${key} is accepted but not used since eventing-kafka-broker PR #3479; KEDA's activation threshold stays 0`);
    else if (!KEDA_ANNOTATION_KEYS.includes(name)) add(source, `${key} is not an annotation the KEDA integration knows (${KEDA_ANNOTATION_KEYS.join(', ')})`);
  }
  const numberOf = (name: string, fallback: number): number | undefined => {
    const value = a[AUTOSCALING + name];
    if (value === undefined) return fallback;
    if (/^\d+$/.test(value)) return Number(value);
    add(source, `${AUTOSCALING}${name} must be a whole number, got "${value}"`);
    return undefined;
  };
  const minScale = numberOf('min-scale', defaults.minScale);
  const maxScale = numberOf('max-scale', defaults.maxScale);
  const lagThreshold = numberOf('lag-threshold', defaults.lagThreshold);
  const pollingInterval = numberOf('polling-interval', defaults.pollingIntervalS);
  numberOf('cooldown-period', defaults.cooldownPeriodS);
  if (lagThreshold === 0) add(source, `${AUTOSCALING}lag-threshold must be above 0`);
  if (pollingInterval === 0) add(source, `${AUTOSCALING}polling-interval must be at least 1`);
  if (minScale !== undefined && maxScale !== undefined && minScale > maxScale) add(source, `min-scale ${minScale} is above max-scale ${maxScale}`);

  const partitionsOf = new Map(topics.map((t) => [t.name, t.partitions]));
  const sourceTopics = dig(source, 'spec', 'topics');
  for (const topic of Array.isArray(sourceTopics) ? sourceTopics.map(String) : []) {
    const partitions = partitionsOf.get(topic);
    if (partitions === undefined) {
      add(source, `topic "${topic}" is not in the topic table (shared/topology.ts)`);
      continue;
    }
    // Knative sets allowIdleConsumers on the trigger it generates, so KEDA itself would
    // not stop at the partition count: consumers beyond it would own no partition.
    // Only the source's own class annotation turns it off (keda.IsEnabled); the ConfigMap's does not.
    const klass = a[AUTOSCALING + 'class'];
    const scaledByKeda = klass === undefined || klass === '' || klass === KEDA_CLASS;
    if (scaledByKeda && maxScale !== undefined && maxScale > partitions) {
      add(source, `max-scale ${maxScale}${a[AUTOSCALING + 'max-scale'] === undefined ? ' (the default)' : ''} exceeds the ${partitions} partitions of topic "${topic}"`);
    }
  }
}

export function kafkaSinkProblems(sink: K8sObject, topics: TopicSpec[], add: Report): void {
  const topic = asString(dig(sink, 'spec', 'topic'));
  if (topic !== undefined && !topics.some((t) => t.name === topic)) add(sink, `topic "${topic}" is not in the topic table (shared/topology.ts)`);
}

export function pingSourceProblems(ping: K8sObject, add: Report): void {
  const schedule = asString(dig(ping, 'spec', 'schedule')) ?? PING_SOURCE_DEFAULTS.schedule;
  const problem = pingScheduleProblem(schedule, asString(dig(ping, 'spec', 'timezone')));
  if (problem) add(ping, problem);
  const data = asString(dig(ping, 'spec', 'data'));
  const dataBase64 = asString(dig(ping, 'spec', 'dataBase64'));
  if (data && dataBase64) add(ping, 'spec.data and spec.dataBase64 are exclusive: set one');
  if (data && asString(dig(ping, 'spec', 'contentType')) === 'application/json') {
    try {
      JSON.parse(data);
    } catch {
      add(ping, 'spec.data is not JSON although contentType is application/json');
    }
  }
}

const CRON_DESCRIPTORS = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly']);

/**
 * A PingSource schedule the eventing webhook refuses (ping_validation.go: robfig cron with
 * optional seconds and descriptors, but not @every; the timezone an IANA zone).
 */
export function pingScheduleProblem(schedule: string, timezone: string | undefined): string | undefined {
  if (timezone !== undefined) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: timezone });
    } catch {
      return `timezone "${timezone}" is not a known IANA time zone`;
    }
  }
  const text = schedule.trim();
  if (text.startsWith('@')) return CRON_DESCRIPTORS.has(text) ? undefined : `schedule "${schedule}": unsupported descriptor (use 5 or 6 cron fields, or @hourly, @daily, @weekly, @monthly, @yearly)`;
  const fields = text.split(/\s+/).length;
  if (fields < 5 || fields > 6) return `schedule "${schedule}": expected 5 to 6 fields, found ${fields}`;
  try {
    CronExpressionParser.parse(text, { tz: 'UTC' });
  } catch (error) {
    return `schedule "${schedule}": ${(error as Error).message}`;
  }
  return undefined;
}
