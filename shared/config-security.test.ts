import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { elasticsearchConfig, kafkaConfig, loadConfig } from './config.ts';
import { ConfigError } from './errors.ts';
import { kafkaSecurityOf } from './kafka.ts';
import { UNRELATED_CA_PEM, thrownBy } from '../test/helpers.ts';

const schema = { ...kafkaConfig, ...elasticsearchConfig };
const problemsOf = (env: Record<string, string>) => thrownBy(ConfigError, () => loadConfig(schema, env)).message;

const PEM = UNRELATED_CA_PEM;

function file(name: string, text: string): string {
  const path = resolve(tmpdir(), `bdp-config-${process.pid}-${name}`);
  writeFileSync(path, text);
  return path;
}

const sasl = { KAFKA_SECURITY_PROTOCOL: 'SASL_SSL', KAFKA_SASL_USERNAME: 'pipeline', KAFKA_SASL_PASSWORD: 'secret' };

describe('Kafka client security settings', () => {
  it('leaves PLAINTEXT as it is: no TLS, no SASL', () => {
    const config = loadConfig(schema, {});
    expect(config.KAFKA_SECURITY_PROTOCOL).toBeUndefined();
    expect(kafkaSecurityOf(config)).toEqual({});
  });

  it('gives kafkajs the CA and SCRAM-SHA-512 credentials for SASL_SSL', () => {
    const ca = file('ca.crt', PEM);
    const config = loadConfig(schema, { ...sasl, KAFKA_CA_FILE: ca });
    expect(kafkaSecurityOf(config)).toEqual({ ssl: { ca: [PEM] }, sasl: { mechanism: 'scram-sha-512', username: 'pipeline', password: 'secret' } });
  });

  it('trusts the system CAs when SSL has no KAFKA_CA_FILE', () => {
    expect(kafkaSecurityOf(loadConfig(schema, { KAFKA_SECURITY_PROTOCOL: 'SSL' }))).toEqual({ ssl: true });
  });

  it('requires a username and a password with SASL_SSL', () => {
    const message = problemsOf({ KAFKA_SECURITY_PROTOCOL: 'SASL_SSL' });
    expect(message).toContain('KAFKA_SASL_USERNAME is required when KAFKA_SECURITY_PROTOCOL is SASL_SSL');
    expect(message).toContain('KAFKA_SASL_PASSWORD is required when KAFKA_SECURITY_PROTOCOL is SASL_SSL');
  });

  it('refuses credentials or a CA that the protocol would ignore', () => {
    expect(problemsOf({ KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' })).toContain('KAFKA_SASL_USERNAME is set but KAFKA_SECURITY_PROTOCOL is PLAINTEXT: use SASL_SSL');
    expect(problemsOf({ KAFKA_CA_FILE: file('ca2.crt', PEM) })).toContain('KAFKA_CA_FILE is set but KAFKA_SECURITY_PROTOCOL is PLAINTEXT');
  });

  it('refuses another protocol or mechanism by name', () => {
    expect(problemsOf({ ...sasl, KAFKA_SECURITY_PROTOCOL: 'SASL_PLAINTEXT' })).toContain('KAFKA_SECURITY_PROTOCOL');
    expect(problemsOf({ ...sasl, KAFKA_SASL_MECHANISM: 'PLAIN' })).toContain('KAFKA_SASL_MECHANISM');
  });
});

describe('CA files', () => {
  it('names the variable of a CA file that does not exist', () => {
    expect(problemsOf({ ...sasl, KAFKA_CA_FILE: '/nonexistent/ca.crt' })).toContain('KAFKA_CA_FILE cannot be read: ENOENT (got "/nonexistent/ca.crt")');
    expect(problemsOf({ ELASTICSEARCH_URL: 'https://es:9200', ELASTICSEARCH_CA_FILE: '/nonexistent/ca.crt' })).toContain('ELASTICSEARCH_CA_FILE cannot be read: ENOENT');
  });

  it('names the variable of a CA file that is not PEM', () => {
    expect(problemsOf({ ...sasl, KAFKA_CA_FILE: file('not-pem', 'hello') })).toContain('KAFKA_CA_FILE is not a PEM certificate bundle');
    const broken = file('broken.crt', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    expect(problemsOf({ ELASTICSEARCH_URL: 'https://es:9200', ELASTICSEARCH_CA_FILE: broken })).toContain('ELASTICSEARCH_CA_FILE is not a PEM certificate bundle');
  });

  it('accepts a PEM CA for an https Elasticsearch, and refuses one for http', () => {
    const ca = file('es-ca.crt', PEM);
    expect(loadConfig(schema, { ELASTICSEARCH_URL: 'https://es:9200', ELASTICSEARCH_CA_FILE: ca }).ELASTICSEARCH_CA_FILE).toBe(ca);
    expect(problemsOf({ ELASTICSEARCH_CA_FILE: ca })).toContain('ELASTICSEARCH_CA_FILE is set but ELASTICSEARCH_URL is not https://');
  });
});
