import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../shared/errors.ts';
import { loadConfig } from '../../shared/config.ts';
import { clientSettings, envOf } from '../settings.ts';
import { devPlatform, isSecure } from './platform.ts';

describe("make dev's platform and its client settings", () => {
  it('runs where make platform-up runs it, plaintext unless asked', () => {
    expect(devPlatform({ KAFKA_PORT: 19092, ES_PORT: 19200 })).toEqual({ kafkaPort: 19092, esPort: 19200, runDir: '.run/infra', secure: false });
    expect(devPlatform({ KAFKA_PORT: 1, ES_PORT: 2 }, true).secure).toBe(true);
  });

  it('reads a plaintext platform as plaintext, and gives back only the settings that are set', () => {
    const settings = loadConfig(clientSettings, { KAFKA_BROKERS: '127.0.0.1:19092', ELASTICSEARCH_URL: 'http://127.0.0.1:19200', PATH: '/bin' });
    expect(isSecure(settings)).toBe(false);
    expect(envOf(settings)).toEqual({ KAFKA_BROKERS: '127.0.0.1:19092', ELASTICSEARCH_URL: 'http://127.0.0.1:19200' });
  });

  it('reads SASL_SSL as secure, and refuses it without a password', () => {
    const secure = { KAFKA_BROKERS: '127.0.0.1:19092', KAFKA_SECURITY_PROTOCOL: 'SASL_SSL', KAFKA_SASL_USERNAME: 'pipeline', KAFKA_SASL_PASSWORD: 'p' };
    expect(isSecure(loadConfig(clientSettings, secure))).toBe(true);
    expect(() => loadConfig(clientSettings, { ...secure, KAFKA_SASL_PASSWORD: '' })).toThrow(ConfigError);
  });
});
