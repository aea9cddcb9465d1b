/**
 * The pipeline of `make dev`: what its runtime writes to .run/dev/state.json, and its Kafka
 * and Elasticsearch, reached with the client settings `infra.sh env` gives (cli/dev/platform.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Admin, Kafka } from 'kafkajs';
import { brokersOf } from '../../shared/config.ts';
import { esOptionsOf } from '../../shared/elasticsearch.ts';
import { createKafka, kafkaSecurityOf } from '../../shared/kafka.ts';
import { devClientSettings } from '../dev/platform.ts';
import type { RuntimeState } from '../dev/state.ts';
import type { LocalPlatform } from '../local-platform.ts';
import type { ClientSettings } from '../settings.ts';
import { type ElasticsearchEndpoint, type PipelineTarget, type SourceView, topicEndOf } from './pipeline-target.ts';

export const LOCAL_STATE_FILE = resolve(import.meta.dirname, '../../.run/dev/state.json');

export class LocalTarget implements PipelineTarget {
  readonly name = 'local';
  #client: ClientSettings | undefined;

  constructor(
    private readonly platform: LocalPlatform,
    private readonly stateFile = LOCAL_STATE_FILE,
  ) {}

  /** Read once, when first needed: `make load` needs none. */
  #settings(): ClientSettings {
    this.#client ??= devClientSettings(this.platform);
    return this.#client;
  }

  kafka(clientId: string, connectionTimeoutMs = 5000): Kafka {
    const settings = this.#settings();
    return createKafka({ brokers: brokersOf(settings.KAFKA_BROKERS), clientId, connectionTimeoutMs, ...kafkaSecurityOf(settings) });
  }

  async elasticsearch(): Promise<ElasticsearchEndpoint> {
    return esOptionsOf(this.#settings());
  }

  state(): RuntimeState {
    const state = existsSync(this.stateFile) ? (JSON.parse(readFileSync(this.stateFile, 'utf8')) as RuntimeState) : undefined;
    // The file outlives the runtime: it is read only while the process that wrote it runs.
    if (!state || !isRunning(state.pid)) throw new Error('the local runtime is not running: start it with `make dev`');
    return state;
  }

  generateUrl(): string {
    const generate = this.state().services.find((s) => s.name === 'generate');
    if (!generate) throw new Error('no generate service in the local runtime');
    return generate.url;
  }

  async sources(): Promise<SourceView[]> {
    const state = this.state();
    return state.sources.map((s) => {
      const service = state.services.find((x) => x.name === s.sink);
      return {
        name: s.name,
        topic: s.topics.join(','),
        sink: s.sink,
        lag: s.lag,
        vreplicas: s.vreplicas,
        maxVReplicas: s.maxScale,
        pods: s.placements.length,
        members: s.members,
        instances: service?.instances ?? 0,
        delivered: s.delivered,
        deadLettered: s.deadLettered,
      };
    });
  }

  #admin: Promise<Admin> | undefined;

  async topicEnd(topic: string): Promise<number> {
    this.#admin ??= (async () => {
      const admin = this.kafka('watch', 2000).admin();
      await admin.connect();
      return admin;
    })();
    this.#admin.catch(() => (this.#admin = undefined));
    return topicEndOf(await this.#admin, topic);
  }

  async events(): Promise<string[]> {
    return this.state().events;
  }
}

function isRunning(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
