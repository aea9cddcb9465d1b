/**
 * Kafka in platform/: the topic Job against shared/topology.ts, the ZooKeeper base and the
 * KRaft overlay.
 */
import { describe, expect, it } from 'vitest';
import { type K8sObject } from '../../cli/manifests/index.ts';
import { topics, base, kraft, production, variants, named, containerOf, envOf } from './fixtures.ts';
import { podTemplateOf, topicJobTopics, pod } from './pods.ts';

describe('Kafka', () => {
  it.each(Object.entries(variants))('%s: the topic Job creates exactly the topics of shared/topology.ts', (_, objects) => {
    expect(topicJobTopics(objects)).toEqual(topics);
    const env = containerOf(objects, 'Job', 'kafka-topics')['env'] as { name: string; valueFrom?: unknown }[];
    expect(env.find((e) => e.name === 'REPLICATION_FACTOR')?.valueFrom).toEqual({ configMapKeyRef: { name: 'kafka-settings', key: 'KAFKA_DEFAULT_REPLICATION_FACTOR' } });
  });

  it('topicJobTopics parses name:partitions and refuses anything else', () => {
    const job = (value: string) => [pod({ containers: [{ name: 'c', env: [{ name: 'TOPICS', value }] }] }, 'Job', 'kafka-topics')];
    expect(topicJobTopics(job(' a:1  b.c:12 '))).toEqual([
      { name: 'a', partitions: 1 },
      { name: 'b.c', partitions: 12 },
    ]);
    expect(() => topicJobTopics(job('a=1'))).toThrow(/not name:partitions/);
  });

  it('base: ZooKeeper mode through kafka-server-start.sh, replication from kafka-settings', () => {
    const kafka = containerOf(base, 'StatefulSet', 'kafka');
    expect(kafka['command']).toEqual(['/opt/kafka/bin/kafka-server-start.sh', '/opt/kafka/config/server.properties']);
    const overrides = (kafka['args'] as string[]).filter((a) => a !== '--override');
    expect(overrides).toEqual(
      expect.arrayContaining([
        'zookeeper.connect=zookeeper.big-data-pipeline.svc.cluster.local:2181',
        'broker.id=$(BROKER_ID)',
        'advertised.listeners=PLAINTEXT://$(POD_NAME).kafka-headless.big-data-pipeline.svc.cluster.local:9092',
        'default.replication.factor=$(KAFKA_DEFAULT_REPLICATION_FACTOR)',
        'offsets.topic.replication.factor=$(KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR)',
        'min.insync.replicas=$(KAFKA_MIN_INSYNC_REPLICAS)',
        'num.partitions=$(KAFKA_NUM_PARTITIONS)',
      ]),
    );
    expect((named(base, 'StatefulSet', 'kafka')['spec'] as { replicas: number }).replicas).toBe(1);
    expect(named(base, 'ConfigMap', 'kafka-settings')['data']).toMatchObject({ KAFKA_DEFAULT_REPLICATION_FACTOR: '1', KAFKA_MIN_INSYNC_REPLICAS: '1' });
  });

  it('kraft: Kafka 4 through the image launcher, and no trace of ZooKeeper', () => {
    expect(JSON.stringify(kraft).toLowerCase()).not.toContain('zookeeper');
    const kafka = containerOf(kraft, 'StatefulSet', 'kafka');
    expect(String(kafka['image'])).toMatch(/^apache\/kafka:4\.\d+\.\d+$/);
    expect(kafka['command']).toEqual(['/etc/kafka/docker/run']);
    expect(kafka['args']).toBeUndefined();
    expect(envOf(kafka)).toMatchObject({ KAFKA_PROCESS_ROLES: 'broker,controller', KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER' });
    expect(named(kraft, 'ConfigMap', 'kafka-settings')['data']).toMatchObject({
      KAFKA_CONTROLLER_QUORUM_VOTERS: '0@kafka-0.kafka-headless.big-data-pipeline.svc.cluster.local:9093',
      CLUSTER_ID: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
    });
    // Every other object of the base is still there.
    const ids = (objects: K8sObject[]) => objects.map((o) => `${o.kind}/${o.metadata.name.replace(/-[a-z0-9]{10}$/, '')}`);
    const removed = ids(base).filter((id) => !ids(kraft).includes(id));
    expect(removed.sort()).toEqual(
      [
        'ConfigMap/kafka-log4j',
        'ConfigMap/zookeeper-config',
        'NetworkPolicy/kafka-to-zookeeper',
        'NetworkPolicy/zookeeper',
        'Service/zookeeper',
        'Service/zookeeper-headless',
        'StatefulSet/zookeeper',
      ].sort(),
    );
  });

  it('no pod gets Service-link variables (a Service named kafka would add KAFKA_PORT)', () => {
    for (const object of [...base, ...kraft, ...production]) {
      const template = podTemplateOf(object);
      if (template) expect(template.spec['enableServiceLinks'], object.metadata.name).toBe(false);
    }
  });
});
