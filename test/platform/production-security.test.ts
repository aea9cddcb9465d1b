/**
 * The production overlay's security on the server side: Kafka only on SASL_SSL with
 * SCRAM-SHA-512 and the kafka-tls certificate, its SCRAM users stored before the brokers
 * start, Elasticsearch only on TLS, and every platform client on those endpoints.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { type K8sObject } from '../../cli/manifests/index.ts';
import { topics, production, named, configMapNamed, containerOf, envOf } from './fixtures.ts';
import { podTemplateOf, workloadContainers } from './pods.ts';
import { brokerSettings } from './production.ts';

type Env = { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string }; configMapKeyRef?: { name: string; key: string } } };

/** Where a container's file comes from: the Secret and key of the secret volume mounted over its folder. */
function secretFile(object: K8sObject, container: string, path: string): { secret: string; key: string } | undefined {
  const { spec } = podTemplateOf(object)!;
  const c = workloadContainers([object]).find((w) => w.container['name'] === container)!.container;
  for (const mount of (c['volumeMounts'] ?? []) as { name: string; mountPath: string }[]) {
    if (!path.startsWith(`${mount.mountPath}/`)) continue;
    const volume = (spec['volumes'] as { name: string; secret?: { secretName: string; items?: { key: string; path: string }[] } }[]).find((v) => v.name === mount.name);
    const item = volume?.secret?.items?.find((i) => i.path === path.slice(mount.mountPath.length + 1));
    if (volume?.secret && item) return { secret: volume.secret.secretName, key: item.key };
  }
  return undefined;
}
const secretRef = (container: Record<string, unknown>, name: string) => ((container['env'] ?? []) as Env[]).find((e) => e.name === name)?.valueFrom?.secretKeyRef;

describe('the production overlay: security', () => {
  it('nothing speaks plaintext: no 9092, no PLAINTEXT listener, no http:// to Elasticsearch', () => {
    // Every object but the scripts and config files (the topic Job's script knows PLAINTEXT
    // as the protocol it is not); the broker's settings are checked below.
    const found = (pattern: RegExp) => production.filter((o) => o.kind !== 'ConfigMap' && pattern.test(JSON.stringify(o))).map((o) => `${o.kind}/${o.metadata.name}`);
    expect(found(/:9092\b|"(?:port|containerPort|targetPort)":9092\b/)).toEqual([]);
    expect(found(/http:\/\/elasticsearch/)).toEqual([]);
    expect(Object.entries(brokerSettings(production)).filter(([, v]) => /PLAINTEXT|:9092\b/.test(v))).toEqual([]);
    for (const name of ['kafka', 'kafka-headless']) {
      expect((named(production, 'Service', name)['spec'] as { ports: unknown[] }).ports).toEqual([{ name: 'kafka', port: 9093, targetPort: 'kafka' }]);
    }
  });

  it('brokers: SASL_SSL with SCRAM-SHA-512 for clients and each other, PEM files from kafka-tls', () => {
    const broker = brokerSettings(production);
    expect(broker).toMatchObject({
      listeners: 'SASL_SSL://:9093',
      'advertised.listeners': 'SASL_SSL://$(POD_NAME).kafka-headless.big-data-pipeline.svc.cluster.local:9093',
      'security.inter.broker.protocol': 'SASL_SSL',
      'sasl.mechanism.inter.broker.protocol': 'SCRAM-SHA-512',
      'sasl.enabled.mechanisms': 'SCRAM-SHA-512',
      'ssl.keystore.type': 'PEM',
      'ssl.truststore.type': 'PEM',
      'ssl.client.auth': 'none',
    });
    expect(broker['ssl.keystore.password']).toBeUndefined();
    const kafka = named(production, 'StatefulSet', 'kafka');
    expect(secretFile(kafka, 'kafka', broker['ssl.truststore.location']!)).toEqual({ secret: 'kafka-tls', key: 'ca.crt' });
    // The key store is written by the config init container from kafka-tls's key and chain,
    // into the file the broker command reads its properties from.
    const config = containerOf(production, 'StatefulSet', 'kafka', 'config');
    const script = (config['args'] as string[]).join('\n');
    expect(script).toContain(`cat /etc/kafka/tls/tls.key /etc/kafka/tls/tls.crt > ${broker['ssl.keystore.location']}`);
    expect(secretFile(kafka, 'config', '/etc/kafka/tls/tls.key')).toEqual({ secret: 'kafka-tls', key: 'tls.key' });
    expect(secretFile(kafka, 'config', '/etc/kafka/tls/tls.crt')).toEqual({ secret: 'kafka-tls', key: 'tls.crt' });
    const properties = (containerOf(production, 'StatefulSet', 'kafka')['command'] as string[])[1]!;
    expect(script).toContain(`>> ${properties}`);
    expect(script).toContain('listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\\"$BROKER_USER\\" password=\\"$BROKER_PASSWORD\\";');
    expect(secretRef(config, 'BROKER_USER')).toEqual({ name: 'kafka-broker-auth', key: 'user' });
    expect(secretRef(config, 'BROKER_PASSWORD')).toEqual({ name: 'kafka-broker-auth', key: 'password' });
  });

  it('SCRAM users: the broker user and the clients’ user are stored in ZooKeeper before the broker starts', () => {
    const inits = workloadContainers([named(production, 'StatefulSet', 'kafka')]).filter((c) => c.init).map((c) => c.container['name']);
    expect(inits).toContain('scram-users');
    const users = containerOf(production, 'StatefulSet', 'kafka', 'scram-users');
    const script = (users['args'] as string[]).join('\n');
    expect(script).toContain('kafka-configs.sh --zookeeper "$ZOOKEEPER_CONNECT" --alter');
    expect(script).toContain('--add-config "SCRAM-SHA-512=[iterations=8192,password=$2]" --entity-type users --entity-name "$1"');
    expect(script).toMatch(/add_user "\$BROKER_USER" "\$BROKER_PASSWORD"\n\s*add_user "\$CLIENT_USER" "\$CLIENT_PASSWORD"/);
    expect(envOf(users)['ZOOKEEPER_CONNECT']).toBe(brokerSettings(production)['zookeeper.connect']);
    expect([secretRef(users, 'BROKER_USER'), secretRef(users, 'BROKER_PASSWORD'), secretRef(users, 'CLIENT_USER'), secretRef(users, 'CLIENT_PASSWORD')]).toEqual([
      { name: 'kafka-broker-auth', key: 'user' },
      { name: 'kafka-broker-auth', key: 'password' },
      { name: 'kafka-client-auth', key: 'user' },
      { name: 'kafka-client-auth', key: 'password' },
    ]);
  });

  it('kafka-exporter: SASL_SSL on 9093 as the client user, trusting kafka-client-auth’s CA', () => {
    const exporter = containerOf(production, 'Deployment', 'kafka-exporter');
    const args = exporter['args'] as string[];
    expect(args).toEqual(expect.arrayContaining(['--sasl.enabled', '--sasl.mechanism=scram-sha512', '--sasl.username=$(SASL_USERNAME)', '--tls.enabled']));
    expect(args.some((a) => a.startsWith('--sasl.password') || a.startsWith('--tls.insecure-skip-tls-verify') || a.startsWith('--tls.server-name'))).toBe(false);
    expect(secretRef(exporter, 'SASL_USERNAME')).toEqual({ name: 'kafka-client-auth', key: 'user' });
    expect(secretRef(exporter, 'SASL_USER_PASSWORD')).toEqual({ name: 'kafka-client-auth', key: 'password' });
    const ca = args.find((a) => a.startsWith('--tls.ca-file='))!.split('=')[1]!;
    expect(secretFile(named(production, 'Deployment', 'kafka-exporter'), 'kafka-exporter', ca)).toEqual({ secret: 'kafka-client-auth', key: 'ca.crt' });
  });

  it('Elasticsearch: TLS on HTTP and transport, from the elasticsearch-tls files under its config directory', () => {
    const settings = parseYaml(String((configMapNamed(production, 'elasticsearch-config')['data'] as Record<string, string>)['elasticsearch.yml']));
    expect(settings).toMatchObject({ 'xpack.security.enabled': true, 'xpack.security.http.ssl.enabled': true, 'xpack.security.transport.ssl.enabled': true });
    const es = named(production, 'StatefulSet', 'elasticsearch');
    for (const layer of ['http', 'transport']) {
      for (const [setting, key] of [['key', 'tls.key'], ['certificate', 'tls.crt'], ['certificate_authorities', 'ca.crt']] as const) {
        const path = String(settings[`xpack.security.${layer}.ssl.${setting}`]);
        expect(secretFile(es, 'elasticsearch', `/usr/share/elasticsearch/config/${path}`), `${layer} ${setting}`).toEqual({ secret: 'elasticsearch-tls', key });
      }
    }
    const probe = ((containerOf(production, 'StatefulSet', 'elasticsearch')['readinessProbe'] as any).exec.command as string[]).join(' ');
    expect(probe).toContain('--cacert /usr/share/elasticsearch/config/certs/ca.crt');
    expect(probe).toContain('https://');
  });

  it.each([
    ['Deployment', 'kibana', 'ELASTICSEARCH_HOSTS', 'ELASTICSEARCH_SSL_CERTIFICATEAUTHORITIES'],
    ['Job', 'elasticsearch-setup', 'ELASTICSEARCH_URL', 'ELASTICSEARCH_CA_FILE'],
    ['Deployment', 'dashboard', 'ELASTICSEARCH_URL', 'ELASTICSEARCH_CA_FILE'],
  ])('%s/%s reaches Elasticsearch over https, trusting elasticsearch-tls’s CA', (kind, name, urlVariable, caVariable) => {
    const object = named(production, kind, name);
    const container = containerOf(production, kind, name);
    expect(envOf(container)[urlVariable]).toBe('https://elasticsearch.big-data-pipeline.svc.cluster.local:9200');
    expect(secretFile(object, String(container['name']), envOf(container)[caVariable]!)).toEqual({ secret: 'elasticsearch-tls', key: 'ca.crt' });
  });

  it('elasticsearch-exporter reaches Elasticsearch over https, trusting elasticsearch-tls’s CA', () => {
    const args = containerOf(production, 'Deployment', 'elasticsearch-exporter')['args'] as string[];
    expect(args).toContain('--es.uri=https://elasticsearch.big-data-pipeline.svc.cluster.local:9200');
    const ca = args.find((a) => a.startsWith('--es.ca='))!.split('=')[1]!;
    expect(secretFile(named(production, 'Deployment', 'elasticsearch-exporter'), 'elasticsearch-exporter', ca)).toEqual({ secret: 'elasticsearch-tls', key: 'ca.crt' });
  });

  describe('the topic Job, against stand-in Kafka tools', () => {
    const job = named(production, 'Job', 'kafka-topics');
    const container = containerOf(production, 'Job', 'kafka-topics');
    const env = container['env'] as Env[];
    const settings = named(production, 'ConfigMap', 'kafka-settings')['data'] as Record<string, string>;
    const dir = mkdtempSync(join(tmpdir(), 'bdp-topics-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('logs in with kafka-client-auth on 9093 and asks for replication 3, min.insync.replicas 2 and a retention per topic', () => {
      expect(envOf(container)['BOOTSTRAP']).toBe('kafka.big-data-pipeline.svc.cluster.local:9093');
      const fromSecret = Object.fromEntries(env.filter((e) => e.valueFrom?.secretKeyRef).map((e) => [e.name, e.valueFrom!.secretKeyRef]));
      expect(fromSecret).toEqual({
        KAFKA_SECURITY_PROTOCOL: { name: 'kafka-client-auth', key: 'protocol' },
        KAFKA_SASL_MECHANISM: { name: 'kafka-client-auth', key: 'sasl.mechanism' },
        KAFKA_SASL_USERNAME: { name: 'kafka-client-auth', key: 'user' },
        KAFKA_SASL_PASSWORD: { name: 'kafka-client-auth', key: 'password' },
      });
      expect(secretFile(job, 'create-topics', envOf(container)['KAFKA_CA_FILE']!)).toEqual({ secret: 'kafka-client-auth', key: 'ca.crt' });
      const fromSettings = (name: string) => settings[env.find((e) => e.name === name)!.valueFrom!.configMapKeyRef!.key];
      expect([fromSettings('REPLICATION_FACTOR'), fromSettings('MIN_INSYNC_REPLICAS')]).toEqual(['3', '2']);
      const retention = Object.fromEntries(envOf(container)['RETENTION_MS']!.split(' ').map((s) => s.split(':')));
      expect(Object.keys(retention).sort()).toEqual(topics.map((t) => t.name).sort());
      const day = 86_400_000;
      for (const topic of topics) expect(Number(retention[topic.name]), topic.name).toBe(topic.name === 'dead-letters' ? 30 * day : 7 * day);
    });

    it('runs: creates each topic with those settings through a SASL_SSL client config', () => {
      const calls = join(dir, 'calls');
      writeFileSync(calls, '');
      for (const tool of ['kafka-broker-api-versions.sh', 'kafka-topics.sh', 'kafka-configs.sh']) {
        writeFileSync(
          join(dir, tool),
          `#!/usr/bin/env bash
echo "${tool} $*" >> "$CALLS"
if [[ " $* " == *" --describe "* ]]; then echo "Topic: t PartitionCount: 8 ReplicationFactor: 3 Configs: "; fi
`,
        );
        chmodSync(join(dir, tool), 0o755);
      }
      const script = (container['args'] as string[])[0]!.replace('bin=/opt/kafka/bin', `bin=${dir}`);
      const literal = envOf(container);
      const result = spawnSync('bash', ['-c', script], {
        env: {
          PATH: process.env['PATH'] ?? '',
          TMPDIR: dir,
          CALLS: calls,
          BOOTSTRAP: literal['BOOTSTRAP']!,
          TOPICS: literal['TOPICS']!,
          RETENTION_MS: literal['RETENTION_MS']!,
          REPLICATION_FACTOR: settings['KAFKA_DEFAULT_REPLICATION_FACTOR']!,
          MIN_INSYNC_REPLICAS: settings['KAFKA_MIN_INSYNC_REPLICAS']!,
          KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
          KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
          KAFKA_SASL_USERNAME: 'big-data-pipeline',
          KAFKA_SASL_PASSWORD: 'secret',
          KAFKA_CA_FILE: literal['KAFKA_CA_FILE']!,
        },
        encoding: 'utf8',
      });
      expect(result.status, result.stderr).toBe(0);
      const lines = readFileSync(calls, 'utf8').trim().split('\n');
      const client = `--command-config ${dir}/client.properties`;
      for (const line of lines) expect(line).toContain(`--bootstrap-server kafka.big-data-pipeline.svc.cluster.local:9093 ${client}`);
      for (const { name, partitions } of topics) {
        expect(lines).toContain(`kafka-topics.sh --bootstrap-server kafka.big-data-pipeline.svc.cluster.local:9093 ${client} --create --if-not-exists --topic ${name} --partitions ${partitions} --replication-factor 3`);
        const retention = name === 'dead-letters' ? 2_592_000_000 : 604_800_000;
        expect(lines).toContain(`kafka-configs.sh --bootstrap-server kafka.big-data-pipeline.svc.cluster.local:9093 ${client} --alter --entity-type topics --entity-name ${name} --add-config min.insync.replicas=2,retention.ms=${retention}`);
      }
      expect(readFileSync(join(dir, 'client.properties'), 'utf8').split('\n')).toEqual([
        'security.protocol=SASL_SSL',
        'sasl.mechanism=SCRAM-SHA-512',
        'sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="big-data-pipeline" password="secret";',
        'ssl.truststore.type=PEM',
        `ssl.truststore.location=${literal['KAFKA_CA_FILE']}`,
        '',
      ]);
    });
  });
});
