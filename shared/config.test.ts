import { describe, expect, it } from 'vitest';
import { brokersOf, commonConfig, elasticsearchConfig, kafkaConfig, latenessConfig, loadConfig, topicConfig } from './config.ts';
import { ConfigError } from './errors.ts';
import { thrownBy } from '../test/helpers.ts';

const configErrorOf = (fn: () => unknown) => thrownBy(ConfigError, fn);

describe('loadConfig', () => {
  it('applies every default when nothing is set', () => {
    const config = loadConfig({ ...commonConfig, ...kafkaConfig, ...elasticsearchConfig, ...topicConfig, ...latenessConfig }, {});
    expect(config).toEqual({
      PORT: 8080,
      HOST: '0.0.0.0',
      LOG_LEVEL: 'info',
      BODY_LIMIT_BYTES: 262_144,
      SHUTDOWN_GRACE_MS: 25_000,
      KAFKA_BROKERS: '127.0.0.1:9092',
      BATCH_MAX_ITEMS: 35,
      BATCH_MAX_WAIT_MS: 20,
      BATCH_CAP_ITEMS: 1000,
      STORE_MAX_IN_FLIGHT: 4,
      STORE_SLOW_MS: 2000,
      QUEUE_TIMEOUT_MS: 20_000,
      KAFKA_SEND_TIMEOUT_MS: 10_000,
      ELASTICSEARCH_URL: 'http://127.0.0.1:9200',
      ELASTICSEARCH_TIMEOUT_MS: 10_000,
      EVENTS_INDEX: 'events',
      AGGREGATES_INDEX: 'events-aggregated',
      FINALS_INDEX: 'window-finals',
      TOPIC_RAW: 'data-stream',
      TOPIC_ENRICHED: 'events-enriched',
      TOPIC_WINDOWS: 'windows',
      TOPIC_DEAD_LETTERS: 'dead-letters',
      ALLOWED_LATENESS_SECONDS: 30,
    });
  });

  it('leaves optional variables without a default unset', () => {
    const config = loadConfig(commonConfig, {});
    expect(config.K_REVISION).toBeUndefined();
    expect(config.POD_NAME).toBeUndefined();
  });

  it('coerces numbers given as strings', () => {
    const config = loadConfig({ ...commonConfig, ...kafkaConfig, ...latenessConfig }, {
      PORT: '9000',
      BATCH_MAX_ITEMS: '50',
      BATCH_MAX_WAIT_MS: '0',
      ALLOWED_LATENESS_SECONDS: '120',
    });
    expect(config.PORT).toBe(9000);
    expect(config.BATCH_MAX_ITEMS).toBe(50);
    expect(config.BATCH_MAX_WAIT_MS).toBe(0);
    expect(config.ALLOWED_LATENESS_SECONDS).toBe(120);
  });

  it('keeps given strings and ignores variables outside the schema', () => {
    const config = loadConfig({ ...commonConfig, ...kafkaConfig }, {
      K_REVISION: 'enrich-00001',
      LOG_LEVEL: 'debug',
      KAFKA_BROKERS: 'kafka-0:9092,kafka-1:9093',
      PATH: '/usr/bin',
    });
    expect(config.K_REVISION).toBe('enrich-00001');
    expect(config.LOG_LEVEL).toBe('debug');
    expect(config.KAFKA_BROKERS).toBe('kafka-0:9092,kafka-1:9093');
    expect(config).not.toHaveProperty('PATH');
  });

  it('treats an empty string as unset', () => {
    const config = loadConfig({ ...commonConfig, ...elasticsearchConfig }, { PORT: '', LOG_LEVEL: '', ELASTICSEARCH_URL: '', K_REVISION: '' });
    expect(config.PORT).toBe(8080);
    expect(config.LOG_LEVEL).toBe('info');
    expect(config.ELASTICSEARCH_URL).toBe('http://127.0.0.1:9200');
    expect(config.K_REVISION).toBeUndefined();
  });

  it('does not modify the env object it is given', () => {
    const env = { PORT: '9000' };
    loadConfig(commonConfig, env);
    expect(env).toEqual({ PORT: '9000' });
  });

  it.each([
    [commonConfig, 'PORT', 'abc'],
    [commonConfig, 'PORT', '70000'],
    [commonConfig, 'PORT', '80.5'],
    [commonConfig, 'LOG_LEVEL', 'loud'],
    [commonConfig, 'BODY_LIMIT_BYTES', '0'],
    [kafkaConfig, 'KAFKA_BROKERS', 'localhost'],
    [kafkaConfig, 'KAFKA_BROKERS', 'a:9092, b:9092'],
    [kafkaConfig, 'BATCH_MAX_ITEMS', '10001'],
    [kafkaConfig, 'BATCH_MAX_WAIT_MS', '-1'],
    [elasticsearchConfig, 'ELASTICSEARCH_URL', 'ftp://es:9200'],
    [latenessConfig, 'ALLOWED_LATENESS_SECONDS', '3601'],
  ] as const)('rejects %#: %s=%j with a message naming the variable and the value', (schema, name, value) => {
    const error = configErrorOf(() => loadConfig(schema, { [name]: value }));
    expect(error.name).toBe('ConfigError');
    expect(error.message).toContain(name);
    // The value appears as given (a string) or as coerced (a number), but it appears.
    const shown = Number.isNaN(Number(value)) ? JSON.stringify(value) : String(Number(value));
    expect(error.message).toContain(shown);
    expect(error.problems.length).toBeGreaterThan(0);
    expect(error.problems.every((p) => p.startsWith(name))).toBe(true);
  });

  it('reports every bad variable at once', () => {
    const error = configErrorOf(() => loadConfig({ ...commonConfig, ...kafkaConfig }, { PORT: 'abc', BATCH_MAX_ITEMS: '0' }));
    expect(error.message).toContain('PORT');
    expect(error.message).toContain('"abc"');
    expect(error.message).toContain('BATCH_MAX_ITEMS');
  });
});

describe('brokersOf', () => {
  it('splits and trims a broker list', () => {
    expect(brokersOf('a:9092, b:9093')).toEqual(['a:9092', 'b:9093']);
    expect(brokersOf('127.0.0.1:9092')).toEqual(['127.0.0.1:9092']);
  });
});
