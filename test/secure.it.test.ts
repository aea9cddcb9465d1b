/**
 * The functions against a secure platform (infra.sh BDP_SECURE=1: Kafka SASL_SSL with
 * SCRAM-SHA-512, Elasticsearch over HTTPS with a password), started by this file on ports of
 * its own. A wrong password or an untrusted CA must keep the function unready with one clear
 * log line, answer an event 503 (retried, never dead-lettered), and the right settings must
 * let the event through.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientEnv, infra, type LocalPlatform } from '../cli/local-platform.ts';
import { setupPlatform } from '../cli/setup.ts';
import { CeType } from '../shared/ce-types.ts';
import { kafkaConfig, loadConfig } from '../shared/config.ts';
import { createKafka, fromKafkaRecord, kafkaSecurityOf } from '../shared/kafka.ts';
import { runNames } from '../shared/topology.ts';
import { startFunction } from './function-process.ts';
import { UNRELATED_CA_PEM, binary, ce, rawEvent } from './helpers.ts';
import { TEST_SECURE_ES_PORT, TEST_SECURE_KAFKA_PORT } from './infra.ts';
import { describeTriggerAuthentication } from './upstream/trigger-auth.ts';

const platform: LocalPlatform = { kafkaPort: TEST_SECURE_KAFKA_PORT, esPort: TEST_SECURE_ES_PORT, runDir: '.run/test-secure-infra', secure: true };

let env: Record<string, string>;
let admin: Admin;
let producer: Producer;
const suffix = randomBytes(4).toString('hex');

beforeAll(async () => {
  if (!infra('start', platform)) throw new Error('could not start the secure Kafka and Elasticsearch (see the output above)');
  env = { ...clientEnv(platform), ...runNames(suffix), LOG_LEVEL: 'info' };
  await setupPlatform(env);
  const config = loadConfig(kafkaConfig, env);
  const kafka = createKafka({ brokers: [config.KAFKA_BROKERS], clientId: 'secure-test', connectionTimeoutMs: 5000, ...kafkaSecurityOf(config) });
  admin = kafka.admin();
  producer = kafka.producer();
  await Promise.all([admin.connect(), producer.connect()]);
}, 240_000);

afterAll(async () => {
  await Promise.all([admin?.disconnect(), producer?.disconnect()]);
  infra('stop', platform);
}, 60_000);

/** A function bundle that may never become ready, on a port of the kernel's choice: its log lines are kept for the test to read. */
interface Unready {
  url: string;
  lines: string[];
  stop(): Promise<void>;
}

async function startUnready(name: string, overrides: Record<string, string>): Promise<Unready> {
  const child: ChildProcess = spawn(process.execPath, [resolve(import.meta.dirname, '..', 'dist', name, 'index.mjs')], {
    env: { ...process.env, ...env, ...overrides, PORT: '0', HOST: '127.0.0.1', K_SERVICE: name },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const keep = (chunk: Buffer) => lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const url = (await waitForLine(lines, /Server listening at http:\/\/127\.0\.0\.1:\d+/)).match(/http:\/\/127\.0\.0\.1:\d+/)![0];
  return {
    url,
    lines,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((done) => child.once('exit', done));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function waitForLine(lines: string[], pattern: RegExp, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const line = lines.find((l) => pattern.test(l));
    if (line) return line;
    await sleep(100);
  }
  throw new Error(`no log line matching ${pattern} within ${timeoutMs} ms; got:\n${lines.join('\n')}`);
}

async function readiness(url: string): Promise<number> {
  return (await fetch(`${url}/health/readiness`)).status;
}

async function post(url: string, event: ReturnType<typeof ce>): Promise<number> {
  const { headers, payload } = binary(event);
  return (await fetch(url, { method: 'POST', headers: headers as Record<string, string>, body: payload as string })).status;
}

async function topicSize(topic: string): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.reduce((sum, o) => sum + Number(o.high), 0);
}

describe('enrich on Kafka SASL_SSL', () => {
  it('with a wrong SCRAM password: one clear log line, not ready, an event answers 503 and is not dead-lettered', async () => {
    const fn = await startUnready('enrich', { KAFKA_SASL_PASSWORD: 'not-the-password' });
    try {
      const line = await waitForLine(fn.lines, /Kafka rejected the SASL credentials/);
      expect(line).toContain(`user ${env['KAFKA_SASL_USERNAME']} (SCRAM-SHA-512): check KAFKA_SASL_USERNAME/KAFKA_SASL_PASSWORD`);
      expect(await readiness(fn.url)).toBe(503);
      expect(await post(fn.url, ce({ type: CeType.shopEvent, data: rawEvent() }))).toBe(503);
      // The background retries do not repeat the message, and nothing crashed with a stack.
      await sleep(2500);
      expect(fn.lines.filter((l) => l.includes('rejected the SASL credentials'))).toHaveLength(1);
      expect(fn.lines.join('\n')).not.toMatch(/\n\s+at /);
      expect(await topicSize(env['TOPIC_DEAD_LETTERS']!)).toBe(0);
      expect(await topicSize(env['TOPIC_ENRICHED']!)).toBe(0);
    } finally {
      await fn.stop();
    }
  });

  it('with the right password: ready, and the event lands in the output topic', async () => {
    const fn = await startFunction('enrich', env);
    try {
      expect(await fn.post(ce({ type: CeType.shopEvent, data: rawEvent() }))).toMatchObject({ statusCode: 200 });
      expect(await topicSize(env['TOPIC_ENRICHED']!)).toBe(1);
      expect(await topicSize(env['TOPIC_DEAD_LETTERS']!)).toBe(0);
    } finally {
      await fn.stop();
    }
  });
});

describe('index on Elasticsearch over HTTPS', () => {
  /** The record enrich produced in the test above, as index receives it from its KafkaSource. */
  async function enrichedEvent() {
    const consumer = createKafka({ brokers: [env['KAFKA_BROKERS']!], clientId: 'secure-test-read', ...kafkaSecurityOf(loadConfig(kafkaConfig, env)) }).consumer({
      groupId: `secure-test-${randomBytes(3).toString('hex')}`,
    });
    await consumer.connect();
    await consumer.subscribe({ topic: env['TOPIC_ENRICHED']!, fromBeginning: true });
    const record = await new Promise<Parameters<typeof fromKafkaRecord>[0]>((done) => void consumer.run({ eachMessage: async ({ message }) => done(message) }));
    await consumer.disconnect();
    return fromKafkaRecord(record);
  }

  it('with a CA that did not sign the certificate: one clear log line, not ready, 503; then the right CA lets it through', async () => {
    const event = await enrichedEvent();
    const otherCa = resolve(tmpdir(), `bdp-other-ca-${process.pid}.crt`);
    writeFileSync(otherCa, UNRELATED_CA_PEM);
    const fn = await startUnready('index', { ELASTICSEARCH_CA_FILE: otherCa });
    try {
      const line = await waitForLine(fn.lines, /Elasticsearch's certificate is not signed by ELASTICSEARCH_CA_FILE/);
      expect(line).toContain(otherCa);
      expect(await readiness(fn.url)).toBe(503);
      expect(await post(fn.url, event)).toBe(503);
      expect(await topicSize(env['TOPIC_DEAD_LETTERS']!)).toBe(0);
    } finally {
      await fn.stop();
    }
    const fixed = await startFunction('index', env);
    try {
      expect(await fixed.post(event)).toMatchObject({ statusCode: 200 });
    } finally {
      await fixed.stop();
    }
  });
});

describeTriggerAuthentication(() => ({ admin, producer, env, suffix }));
