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
