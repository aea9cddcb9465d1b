/**
 * The kafka-exporter job of `make dev`: the series of danielqsj/kafka_exporter v1.9.0 (the
 * image of platform/exporters/kafka-exporter.yaml) that the alert rules and the Grafana
 * dashboards query, with its names, labels and defaults (every topic and group, offsets of
 * every group for every topic: --offset.show-all). The exporter itself is not served by the
 * Go module proxy, so it cannot be built here; this reads the same numbers through Kafka's
 * admin API. Not covered: broker_info, partition leader/replica/ISR series, ZooKeeper lag.
 */
import type { Admin } from 'kafkajs';
import { Gauge, Registry } from 'prom-client';

interface Snapshot {
  brokers: number;
  partitions: Map<string, number>;
  /** topic → partition → [newest, oldest] */
  offsets: Map<string, Map<number, [number, number]>>;
  members: Map<string, number>;
  /** group → topic → partition → committed (-1: none) */
  committed: Map<string, Map<string, Map<number, number>>>;
}

/** kafka_exporter's --topic.filter and --group.filter (default: everything). */
export interface ExporterFilters {
  topic?: RegExp;
  group?: RegExp;
}

async function snapshot(admin: Admin, filters: ExporterFilters): Promise<Snapshot> {
  const { brokers } = await admin.describeCluster();
  const topics = (await admin.listTopics()).filter((t) => filters.topic?.test(t) ?? true);
  const partitions = new Map<string, number>();
  const offsets = new Map<string, Map<number, [number, number]>>();
  for (const topic of topics) {
    const rows = await admin.fetchTopicOffsets(topic);
    partitions.set(topic, rows.length);
    offsets.set(topic, new Map(rows.map((r) => [r.partition, [Number(r.high), Number(r.low)]])));
  }
  const groupIds = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => filters.group?.test(g) ?? true);
  const members = new Map<string, number>();
  const committed = new Map<string, Map<string, Map<number, number>>>();
  if (groupIds.length > 0) {
    for (const g of (await admin.describeGroups(groupIds)).groups) members.set(g.groupId, g.members.length);
    for (const groupId of groupIds) {
      const byTopic = new Map<string, Map<number, number>>();
      for (const t of await admin.fetchOffsets({ groupId, topics })) byTopic.set(t.topic, new Map(t.partitions.map((p) => [p.partition, Number(p.offset)])));
      committed.set(groupId, byTopic);
    }
  }
  return { brokers: brokers.length, partitions, offsets, members, committed };
}

/** A registry that reads Kafka on every scrape, as the exporter does. */
export function kafkaExporterMetrics(admin: Admin, filters: ExporterFilters = {}): Registry {
  const registry = new Registry();
  let current: Promise<Snapshot> | undefined;
  // One Kafka read per scrape, shared by every series of it.
  const read = () => (current ??= snapshot(admin, filters).finally(() => setTimeout(() => (current = undefined), 500).unref()));

  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[], fill: (g: Gauge<L>, s: Snapshot) => void) =>
    new Gauge<L>({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        this.reset();
        fill(this, await read());
      },
    });

  gauge('kafka_brokers', 'Number of Brokers in the Kafka Cluster.', [], (g, s) => g.set(s.brokers));
  gauge('kafka_topic_partitions', 'Number of partitions for this Topic', ['topic'], (g, s) => {
    for (const [topic, n] of s.partitions) g.set({ topic }, n);
  });
  const perPartition = (name: string, help: string, pick: 0 | 1) =>
    gauge(name, help, ['topic', 'partition'], (g, s) => {
      for (const [topic, rows] of s.offsets) for (const [partition, o] of rows) g.set({ topic, partition: String(partition) }, o[pick]);
    });
  perPartition('kafka_topic_partition_current_offset', 'Current Offset of a Broker at Topic/Partition', 0);
  perPartition('kafka_topic_partition_oldest_offset', 'Oldest Offset of a Broker at Topic/Partition', 1);
  gauge('kafka_consumergroup_members', 'Amount of members in a consumer group', ['consumergroup'], (g, s) => {
    for (const [consumergroup, n] of s.members) g.set({ consumergroup }, n);
  });

  // Per group and topic it has committed on: offsets and lag per partition, and their sums
  // (a partition without a commit shows lag -1 and is left out of the sum).
  const groupSeries = (s: Snapshot, each: (labels: { consumergroup: string; topic: string }, rows: Map<number, number>, newest: Map<number, [number, number]>) => void) => {
    for (const [consumergroup, byTopic] of s.committed) {
      for (const [topic, rows] of byTopic) {
        if (![...rows.values()].some((o) => o !== -1)) continue;
        each({ consumergroup, topic }, rows, s.offsets.get(topic) ?? new Map());
      }
    }
  };
  const lagOf = (committed: number, newest: [number, number] | undefined) => (committed === -1 ? -1 : (newest?.[0] ?? 0) - committed);
  gauge('kafka_consumergroup_current_offset', 'Current Offset of a ConsumerGroup at Topic/Partition', ['consumergroup', 'topic', 'partition'], (g, s) =>
    groupSeries(s, (labels, rows) => {
      for (const [partition, o] of rows) g.set({ ...labels, partition: String(partition) }, o);
    }),
  );
  gauge('kafka_consumergroup_current_offset_sum', 'Current Offset of a ConsumerGroup at Topic for all partitions', ['consumergroup', 'topic'], (g, s) =>
    groupSeries(s, (labels, rows) => g.set(labels, [...rows.values()].reduce((a, b) => a + b, 0))),
  );
  gauge('kafka_consumergroup_lag', 'Current Approximate Lag of a ConsumerGroup at Topic/Partition', ['consumergroup', 'topic', 'partition'], (g, s) =>
    groupSeries(s, (labels, rows, newest) => {
      for (const [partition, o] of rows) g.set({ ...labels, partition: String(partition) }, lagOf(o, newest.get(partition)));
    }),
  );
  gauge('kafka_consumergroup_lag_sum', 'Current Approximate Lag of a ConsumerGroup at Topic for all partitions', ['consumergroup', 'topic'], (g, s) =>
    groupSeries(s, (labels, rows, newest) => {
      let sum = 0;
      for (const [partition, o] of rows) if (o !== -1) sum += lagOf(o, newest.get(partition));
      g.set(labels, sum);
    }),
  );
  return registry;
}
