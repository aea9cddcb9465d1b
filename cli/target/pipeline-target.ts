/**
 * What `make load`, `make watch` and `make redrive` see of a running pipeline, wherever it
 * runs: the local runtime (`make dev`, local.ts) or a cluster (`make deploy`, cluster.ts).
 */
import type { Admin, Kafka } from 'kafkajs';
import type { esOptionsOf } from '../../shared/elasticsearch.ts';

export interface SourceView {
  name: string;
  topic: string;
  sink: string;
  lag: number;
  /** The ConsumerGroup's vreplicas, as KEDA/the HPA set them, and max-scale. */
  vreplicas: number;
  maxVReplicas: number;
  /** Dispatcher pods the source is placed on: one Kafka consumer each. */
  pods: number;
  /** Members of the source's consumer group, as Kafka reports them. */
  members: number;
  /** Ready function pods (KPA). */
  instances: number;
  delivered: number;
  deadLettered: number;
}

/** Elasticsearch's URL, and the pipeline user's credentials and CA when it has them. */
export type ElasticsearchEndpoint = ReturnType<typeof esOptionsOf>;

export interface PipelineTarget {
  name: string;
  /** A Kafka client from here, with the TLS and credentials the pipeline's own clients use. */
  kafka(clientId: string, connectionTimeoutMs?: number): Kafka;
  /** Elasticsearch from here, with the pipeline user's credentials when it has them. */
  elasticsearch(): Promise<ElasticsearchEndpoint>;
  /** URL to POST generate.request CloudEvents to. */
  generateUrl(): string;
  sources(): Promise<SourceView[]>;
  /** Recent scaling decisions and notable events, newest last. */
  events(): Promise<string[]>;
  /** How many records were ever produced to a topic (for rates). */
  topicEnd(topic: string): Promise<number>;
}

export async function topicEndOf(admin: Admin, topic: string): Promise<number> {
  return (await admin.fetchTopicOffsets(topic)).reduce((sum, o) => sum + Number(o.high), 0);
}
