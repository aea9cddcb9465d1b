/**
 * The Kafka and Elasticsearch of `make dev` (the same as `make platform-up`): where they run,
 * and how a client reaches them. The client settings are the ones `infra.sh env` prints for the
 * run directory, so the runtime, `make watch` and `make redrive` read them the same way and
 * the passwords stay in the run directory.
 */
import { loadConfig } from '../../shared/config.ts';
import { clientEnv, type LocalPlatform } from '../local-platform.ts';
import { type ClientSettings, clientSettings } from '../settings.ts';

export function devPlatform(ports: { KAFKA_PORT: number; ES_PORT: number }, secure = false): LocalPlatform {
  return { kafkaPort: ports.KAFKA_PORT, esPort: ports.ES_PORT, runDir: '.run/infra', secure };
}

/** The client settings of the running platform, checked (a CA file that is not PEM is said here, not at the first connection). */
export function devClientSettings(platform: LocalPlatform): ClientSettings {
  return loadConfig(clientSettings, clientEnv(platform));
}

/** Whether the settings speak TLS and passwords to the platform (infra.sh BDP_SECURE=1). */
export function isSecure(settings: ClientSettings): boolean {
  return (settings.KAFKA_SECURITY_PROTOCOL ?? 'PLAINTEXT') !== 'PLAINTEXT';
}
