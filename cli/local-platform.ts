/**
 * The local Kafka + Elasticsearch of platform/local/infra.sh, as `make dev`, the tests and
 * the benchmarks start them: each on its own ports and run directory, so they can coexist.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { TProperties } from '@sinclair/typebox';
import { port } from './settings.ts';

export interface LocalPlatform {
  kafkaPort: number;
  esPort: number;
  /** Run directory (config, pids, logs, data), relative to the repository or absolute. */
  runDir: string;
  /** Kafka SASL_SSL and Elasticsearch HTTPS with passwords, as in production (infra.sh BDP_SECURE=1). */
  secure?: boolean;
  /** Brokers and Elasticsearch nodes (infra.sh BDP_KAFKA_NODES, BDP_ES_NODES); default one each. */
  kafkaNodes?: number;
  esNodes?: number;
  /** JVM heap options of each node (infra.sh KAFKA_HEAP, ES_HEAP); default infra.sh's. */
  kafkaHeap?: string;
  esHeap?: string;
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
    BDP_SECURE: p.secure ? '1' : '0',
    BDP_KAFKA_NODES: String(p.kafkaNodes ?? 1),
    BDP_ES_NODES: String(p.esNodes ?? 1),
    ...(p.kafkaHeap ? { KAFKA_HEAP: p.kafkaHeap } : {}),
    ...(p.esHeap ? { ES_HEAP: p.esHeap } : {}),
  };
}

/**
 * The client settings of the running platform as `infra.sh env` prints them (KAFKA_BROKERS,
 * ELASTICSEARCH_URL and, when secure, the KAFKA_* and ELASTICSEARCH_* TLS and credential settings).
 */
export function clientEnv(p: LocalPlatform): Record<string, string> {
  const { kafkaBrokers, elasticsearchUrl } = endpoints(p);
  const env: Record<string, string> = { KAFKA_BROKERS: kafkaBrokers, ELASTICSEARCH_URL: elasticsearchUrl };
  const printed = execFileSync(resolve(root, 'platform/local/infra.sh'), ['env'], { env: infraEnv(p), encoding: 'utf8' });
  for (const line of printed.split('\n')) {
    const match = /^(KAFKA_[A-Z_]+|ELASTICSEARCH_[A-Z_]+)=(.*)$/.exec(line);
    if (match) env[match[1]!] = match[2]!;
  }
  return env;
}

export function endpoints(p: LocalPlatform): { kafkaBrokers: string; elasticsearchUrl: string } {
  return { kafkaBrokers: `127.0.0.1:${p.kafkaPort}`, elasticsearchUrl: `${p.secure ? 'https' : 'http'}://127.0.0.1:${p.esPort}` };
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

/**
 * `infra.sh kill|start <component> <node>`: SIGKILL one node of a running cluster, or start it
 * again on its data and wait until it has rejoined. Asynchronous, so traffic goes on meanwhile;
 * rejects when infra.sh fails.
 */
export function infraNode(command: 'kill' | 'start', component: 'kafka' | 'es', node: number, p: LocalPlatform): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawn(resolve(root, 'platform/local/infra.sh'), [command, component, String(node)], { env: infraEnv(p), stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('error', fail);
    child.once('exit', (code) => (code === 0 ? done() : fail(new Error(`infra.sh ${command} ${component} ${node} exited with ${code}`))));
  });
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
