// Smoke test of the local infrastructure started by platform/local/infra.sh:
//   platform/local/infra.sh start && node platform/local/smoke.mjs
// Kafka: create a 2-partition topic, produce, consume with a consumer group.
// Elasticsearch: create an index, index a document, search it, list the modules.
// Reads KAFKA_BROKERS and ES_URL (as printed by `infra.sh env`), with infra.sh's defaults.
import { Kafka, Partitioners, logLevel } from 'kafkajs';

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');
const esUrl = process.env.ES_URL ?? 'http://127.0.0.1:19200';
const run = `bdp-smoke-${Date.now()}`;

function check(condition, message) {
  if (!condition) throw new Error(`smoke: ${message}`);
}

async function timed(label, fn) {
  const t0 = performance.now();
  const result = await fn();
  console.log(`smoke: ${label} ok (${Math.round(performance.now() - t0)} ms)`);
  return result;
}

async function smokeKafka() {
  const kafka = new Kafka({ clientId: 'bdp-smoke', brokers, logLevel: logLevel.WARN });
  const admin = kafka.admin();
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  const consumer = kafka.consumer({ groupId: run });
  try {
    await admin.connect();
    await timed('kafka createTopics (2 partitions)', async () => {
      const created = await admin.createTopics({
        topics: [{ topic: run, numPartitions: 2, replicationFactor: 1 }],
        waitForLeaders: true,
      });
      check(created, 'topic was not created');
      const meta = await admin.fetchTopicMetadata({ topics: [run] });
      check(meta.topics[0].partitions.length === 2, 'expected 2 partitions');
    });

    const messages = Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: `v${i}` }));
    await producer.connect();
    await timed('kafka produce 20 messages', () => producer.send({ topic: run, messages }));

    const seen = new Map();
    await timed('kafka consumer group join + consume', async () => {
      await consumer.connect();
      await consumer.subscribe({ topic: run, fromBeginning: true });
      await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('smoke: consume timed out')), 30_000);
        consumer
          .run({
            eachMessage: async ({ partition, message }) => {
              seen.set(message.key.toString(), partition);
              if (seen.size === messages.length) {
                clearTimeout(timer);
                resolve();
              }
            },
          })
          .catch(reject);
      });
    });
    const partitions = new Set(seen.values());
    check(partitions.size === 2, `expected messages on both partitions, got ${[...partitions]}`);
    await consumer.disconnect();
    const offsets = await admin.fetchOffsets({ groupId: run, topics: [run] });
    const committed = offsets[0].partitions.map((p) => `p${p.partition}@${p.offset}`).join(' ');
    console.log(`smoke: kafka group committed ${committed}`);
    await admin.deleteTopics({ topics: [run] });
  } finally {
    await consumer.disconnect().catch(() => {});
    await producer.disconnect().catch(() => {});
    await admin.disconnect().catch(() => {});
  }
}

async function es(method, path, body) {
  const res = await fetch(`${esUrl}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  check(res.ok, `${method} ${path} -> ${res.status} ${text}`);
  return text.startsWith('{') || text.startsWith('[') ? JSON.parse(text) : text;
}

async function smokeElasticsearch() {
  // GET / (and so the client's info() and ping()) lives in the rest-root module, which the
  // integ-test-zip lacks: it answers 405. Use the nodes info API for the version.
  const nodes = await es('GET', '/_nodes?filter_path=nodes.*.version');
  const version = Object.values(nodes.nodes)[0].version;
  console.log(`smoke: elasticsearch ${version} at ${esUrl}`);
  await timed('es create index + index doc + search', async () => {
    await es('PUT', `/${run}`, {
      settings: { number_of_shards: 1, number_of_replicas: 0 },
      mappings: { properties: { region: { type: 'keyword' }, amount: { type: 'long' } } },
    });
    await es('PUT', `/${run}/_doc/1?refresh=wait_for`, { region: 'eu', amount: 42 });
    const found = await es('POST', `/${run}/_search`, { query: { term: { region: 'eu' } } });
    check(found.hits.total.value === 1, `expected 1 hit, got ${JSON.stringify(found.hits)}`);
  });
  const modules = await es('GET', '/_nodes/plugins?filter_path=**.modules.name');
  const names = Object.values(modules.nodes)[0].modules.map((m) => m.name).sort();
  console.log(`smoke: es modules: ${names.join(', ')}`);
  console.log(`smoke: es _cat/plugins: ${JSON.stringify(await es('GET', '/_cat/plugins'))}`);
  await es('DELETE', `/${run}`);
}

await smokeKafka();
await smokeElasticsearch();
console.log('smoke: all ok');
