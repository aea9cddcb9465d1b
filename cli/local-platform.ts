/**
 * The local Kafka + Elasticsearch of platform/local/infra.sh, as `make dev`, the tests and
 * the benchmarks start them: each on its own ports and run directory, so they can coexist.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { TProperties } from '@sinclair/typebox';
import { port } from './settings.ts';

export interface LocalPlatform {
  kafkaPort: number;
  esPort: number;
  /** Run directory (config, pids, logs, data), relative to the repository or absolute. */
  runDir: string;
}

const root = resolve(import.meta.dirname, '..');

/** The ports of `make dev`'s Kafka and Elasticsearch (`make platform-up` uses the same). */
export const localPlatformSettings = {
  KAFKA_PORT: port(19092),
  ES_PORT: port(19200),
} satisfies TProperties;

export function infraEnv(p: LocalPlatform): NodeJS.ProcessEnv {
  return {
    ...process.env,
    KAFKA_PORT: String(p.kafkaPort),
    KAFKA_CONTROLLER_PORT: String(p.kafkaPort + 1),
    ES_PORT: String(p.esPort),
    ES_TRANSPORT_PORT: String(p.esPort + 100),
    BDP_RUN_DIR: resolve(root, p.runDir),
  };
}

export function endpoints(p: LocalPlatform): { kafkaBrokers: string; elasticsearchUrl: string } {
  return { kafkaBrokers: `127.0.0.1:${p.kafkaPort}`, elasticsearchUrl: `http://127.0.0.1:${p.esPort}` };
}

/** Runs `infra.sh start|stop|status`; false when it fails (status: not running). Start and stop print progress. */
export function infra(command: 'start' | 'stop' | 'status', p: LocalPlatform): boolean {
  try {
    execFileSync(resolve(root, 'platform/local/infra.sh'), [command], {
      env: infraEnv(p),
      stdio: command === 'status' ? 'ignore' : ['ignore', 'inherit', 'inherit'],
    });
    return true;
  } catch {
    return false;
  }
}

/** Process ids of the running Kafka and Elasticsearch, from the pid files infra.sh writes; undefined if not running. */
export function platformPids(p: LocalPlatform): { kafka?: number; elasticsearch?: number } {
  const read = (file: string) => {
    try {
      const pid = Number(readFileSync(resolve(root, p.runDir, file), 'utf8').trim());
      return Number.isInteger(pid) && pid > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  };
  return { kafka: read('kafka/kafka.pid'), elasticsearch: read('es/es.pid') };
}
