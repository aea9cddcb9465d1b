/** What the local runtime reads from and sets on the KafkaSources' consumer groups, through Kafka's admin API. */
import type { Admin } from 'kafkajs';
import { partitionLag, readGroupLag } from '../../shared/lag.ts';

/**
 * `initialOffset: latest`: like the Knative controller, commit the end offsets for a group
 * that has none yet, before any consumer starts, so lag is measured from here on and an
 * event produced while the consumers are at zero is not skipped.
 */
export async function commitInitialOffsets(admin: Admin, groupId: string, topics: string[]): Promise<void> {
  for (const topic of topics) {
    const committed = (await admin.fetchOffsets({ groupId, topics: [topic] })).flatMap((t) => t.partitions);
    if (committed.some((p) => Number(p.offset) >= 0)) continue;
    const ends = await admin.fetchTopicOffsets(topic);
    await admin.setOffsets({ groupId, topic, partitions: ends.map((e) => ({ partition: e.partition, offset: e.high })) });
  }
}

/** Partitions of these topics together. */
export async function partitionCount(admin: Admin, topics: string[]): Promise<number> {
  const { topics: metadata } = await admin.fetchTopicMetadata({ topics });
  return metadata.reduce((sum, t) => sum + t.partitions.length, 0);
}

/** The group's lag on every partition of its topics, as KEDA's Kafka scaler reads it. */
export async function partitionLags(admin: Admin, groupId: string, topics: string[]): Promise<number[]> {
  const lags: number[] = [];
  for (const topic of topics) {
    const lag = await readGroupLag(admin, groupId, topic);
    for (const p of lag.partitions) lags.push(partitionLag(p.committed, p.latest));
  }
  return lags;
}

/** Members of each of these groups, as Kafka reports them. */
export async function memberCounts(admin: Admin, groupIds: string[]): Promise<Map<string, number>> {
  const { groups } = await admin.describeGroups(groupIds);
  return new Map(groupIds.map((id) => [id, groups.find((g) => g.groupId === id)?.members.length ?? 0]));
}
