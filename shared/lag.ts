/**
 * Consumer-group lag, computed the way KEDA's Kafka scaler computes it, so the window
 * watermark and the local scaler see the same number a cluster would.
 */
import type { Admin } from 'kafkajs';

export type OffsetResetPolicy = 'latest' | 'earliest';

/**
 * Lag of one partition (KEDA `getLagForPartition`, without excludePersistentLag):
 * no committed offset counts as 1 with `latest` (0 with scaleToZeroOnInvalidOffset),
 * and as the whole log with `earliest`.
 */
export function partitionLag(
  committed: number,
  latest: number,
  policy: OffsetResetPolicy = 'latest',
  scaleToZeroOnInvalidOffset = false,
): number {
  if (committed < 0) {
    if (scaleToZeroOnInvalidOffset) return 0;
    return policy === 'latest' ? 1 : latest;
  }
  return latest - committed;
}

export interface PartitionOffsets {
  partition: number;
  committed: number;
  latest: number;
}

export interface GroupLag {
  group: string;
  topic: string;
  partitions: (PartitionOffsets & { lag: number })[];
  total: number;
}

export function groupLag(group: string, topic: string, offsets: PartitionOffsets[], policy: OffsetResetPolicy = 'latest'): GroupLag {
  const partitions = offsets.map((o) => ({ ...o, lag: partitionLag(o.committed, o.latest, policy) }));
  return { group, topic, partitions, total: partitions.reduce((sum, p) => sum + p.lag, 0) };
}

/** Reads committed and end offsets of a group on a topic from Kafka. */
export async function readGroupLag(admin: Admin, group: string, topic: string, policy: OffsetResetPolicy = 'latest'): Promise<GroupLag> {
  const [ends, committed] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId: group, topics: [topic] })]);
  const committedByPartition = new Map<number, number>();
  for (const p of committed.find((t) => t.topic === topic)?.partitions ?? []) {
    committedByPartition.set(p.partition, Number(p.offset));
  }
  const offsets = ends.map((e) => ({
    partition: e.partition,
    latest: Number(e.high),
    committed: committedByPartition.get(e.partition) ?? -1,
  }));
  return groupLag(group, topic, offsets, policy);
}

/** `group:topic` pairs, comma separated: the upstream stages whose lag holds the watermark. */
export function parseGroupTopics(list: string | undefined): { group: string; topic: string }[] {
  if (!list) return [];
  return list
    .split(',')
    .map((pair) => pair.trim())
    .filter(Boolean)
    .map((pair) => {
      const [group, topic, ...rest] = pair.split(':').map((part) => part.trim());
      if (!group || !topic || rest.length > 0) throw new Error(`expected group:topic, got "${pair}"`);
      return { group, topic };
    });
}

/**
 * Records with a timestamp before `T` that a group has not committed yet, summed over the
 * partitions. `firstAtOrAfter` is, per partition, the offset of the first record stamped at
 * or after T (Kafka's ListOffsets by time; -1 when there is none, i.e. the whole log is
 * older). Record timestamps are event times here (producers set them from the CloudEvent
 * `time`), so this is the upstream backlog of events older than T.
 */
export function backlogBefore(partitions: { firstAtOrAfter: number; latest: number; committed: number }[]): number {
  return partitions.reduce((sum, p) => {
    const needed = p.firstAtOrAfter < 0 ? p.latest : p.firstAtOrAfter;
    return sum + Math.max(0, needed - Math.max(0, p.committed));
  }, 0);
}

export async function readBacklogBefore(admin: Admin, group: string, topic: string, timestampMs: number): Promise<number> {
  const [atTime, ends, committed] = await Promise.all([
    admin.fetchTopicOffsetsByTimestamp(topic, timestampMs),
    admin.fetchTopicOffsets(topic),
    admin.fetchOffsets({ groupId: group, topics: [topic] }),
  ]);
  const committedBy = new Map((committed.find((t) => t.topic === topic)?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
  const atTimeBy = new Map(atTime.map((o) => [o.partition, Number(o.offset)]));
  return backlogBefore(
    ends.map((e) => ({ firstAtOrAfter: atTimeBy.get(e.partition) ?? -1, latest: Number(e.high), committed: committedBy.get(e.partition) ?? -1 })),
  );
}
