/**
 * Kafka topics of the pipeline and their partition counts. A KafkaSource's max-scale
 * (consumers) must not exceed the partitions of its topic; the manifests are checked
 * against this table.
 */
export interface TopicSpec {
  name: string;
  partitions: number;
}

export function pipelineTopics(names: {
  TOPIC_RAW: string;
  TOPIC_ENRICHED: string;
  TOPIC_WINDOWS: string;
  TOPIC_DEAD_LETTERS: string;
}): TopicSpec[] {
  return [
    { name: names.TOPIC_RAW, partitions: 8 },
    { name: names.TOPIC_ENRICHED, partitions: 8 },
    // Keyed by window_start; an ordered KafkaSource gives one window to one consumer at a time.
    { name: names.TOPIC_WINDOWS, partitions: 4 },
    { name: names.TOPIC_DEAD_LETTERS, partitions: 1 },
  ];
}

/** The topic and index names of the pipeline, by the variable that configures each. */
export const PIPELINE_NAMES = {
  TOPIC_RAW: 'data-stream',
  TOPIC_ENRICHED: 'events-enriched',
  TOPIC_WINDOWS: 'windows',
  TOPIC_DEAD_LETTERS: 'dead-letters',
  EVENTS_INDEX: 'events',
  AGGREGATES_INDEX: 'events-aggregated',
  FINALS_INDEX: 'window-finals',
} as const;

export type PipelineNames = Record<keyof typeof PIPELINE_NAMES, string>;

/**
 * A topic, consumer group or index name of one run: runs that share a Kafka and an
 * Elasticsearch (test files, bench rounds, `make dev` in tests) each get their own.
 */
export function runName(name: string, run: string): string {
  return `${name}-${run}`;
}

/** Every topic and index name of the pipeline, of one run. */
export function runNames(run: string): PipelineNames {
  return Object.fromEntries(Object.entries(PIPELINE_NAMES).map(([variable, name]) => [variable, runName(name, run)])) as PipelineNames;
}
