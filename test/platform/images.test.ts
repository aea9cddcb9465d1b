/**
 * The images of platform/: pinned, documented in platform/README.md, and at the versions the
 * rest of the project runs.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { imagePinProblem, repoRoot, type K8sObject } from '../../cli/manifests/index.ts';
import { platformDir, base, kraft, production, variants, named, containerOf, tagOf } from './fixtures.ts';
import { workloadContainers } from './pods.ts';
import { secretReferences } from './secrets.ts';

describe('images', () => {
  const imagesOf = (objects: K8sObject[]) => new Set(workloadContainers(objects).map((c) => String(c.container['image'])));

  it('are the pinned versions README.md explains', () => {
    expect([...imagesOf(base)].sort()).toEqual(
      [
        'apache/kafka:3.9.2',
        'danielqsj/kafka-exporter:v1.9.0',
        'dev.local/big-data-pipeline/dashboard:0.1.0',
        'docker.elastic.co/elasticsearch/elasticsearch:8.19.21',
        'docker.elastic.co/kibana/kibana:8.19.21',
        'grafana/grafana:12.4.3',
        'prom/prometheus:v3.13.0',
        'quay.io/prometheuscommunity/elasticsearch-exporter:v1.11.0',
        'zookeeper:3.9.5',
      ].sort(),
    );
    const readme = readFileSync(join(platformDir, 'README.md'), 'utf8');
    for (const image of [...imagesOf(base), ...imagesOf(kraft), ...imagesOf(production)]) {
      expect(imagePinProblem(image)).toBeUndefined();
      expect(readme, image).toContain(image);
    }
  });

  it('Elasticsearch is the version the tests and make dev run (platform/local/infra.sh)', () => {
    const local = /^readonly ES_VERSION=(\S+)$/m.exec(readFileSync(join(platformDir, 'local', 'infra.sh'), 'utf8'))?.[1];
    expect(local).toMatch(/^8\.19\.\d+$/);
    expect(tagOf(String(containerOf(base, 'StatefulSet', 'elasticsearch')['image']))).toBe(local);
  });

  it('Kibana equals Elasticsearch, whose major is the Node client’s', () => {
    const es = tagOf(String(containerOf(base, 'StatefulSet', 'elasticsearch')['image']));
    expect(tagOf(String(containerOf(base, 'Deployment', 'kibana')['image']))).toBe(es);
    const client = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).dependencies['@elastic/elasticsearch'] as string;
    expect(es.split('.')[0]).toBe(client.replace(/^[^\d]*/, '').split('.')[0]);
  });

  it.each(Object.entries(variants))('%s: kafka-exporter speaks the broker version, and the topic Job uses the broker image', (variant, objects) => {
    const broker = String(containerOf(objects, 'StatefulSet', 'kafka')['image']);
    const args = containerOf(objects, 'Deployment', 'kafka-exporter')['args'] as string[];
    expect(args).toContain(`--kafka.version=${tagOf(broker)}`);
    expect(args).toContain(`--kafka.server=kafka.big-data-pipeline.svc.cluster.local:${variant === 'production' ? 9093 : 9092}`);
    expect(containerOf(objects, 'Job', 'kafka-topics')['image']).toBe(broker);
  });

  it('elasticsearch-exporter has an explicit --es.uri and the pipeline credentials', () => {
    const exporter = containerOf(base, 'Deployment', 'elasticsearch-exporter');
    expect(exporter['args']).toContain('--es.uri=http://elasticsearch.big-data-pipeline.svc.cluster.local:9200');
    expect(secretReferences([named(base, 'Deployment', 'elasticsearch-exporter')])).toEqual([
      { secret: 'elasticsearch-credentials', key: 'username' },
      { secret: 'elasticsearch-credentials', key: 'password' },
    ]);
  });
});
