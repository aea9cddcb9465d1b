/** The pipeline of `make dev`: what its runtime writes to .run/dev/state.json, and its Kafka. */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type Admin, Kafka, logLevel } from 'kafkajs';
import type { RuntimeState } from '../dev/state.ts';
import { type ElasticsearchEndpoint, type PipelineTarget, type SourceView, topicEndOf } from './pipeline-target.ts';

export const LOCAL_STATE_FILE = resolve(import.meta.dirname, '../../.run/dev/state.json');

export class LocalTarget implements PipelineTarget {
  readonly name = 'local';
  readonly kafkaBrokers: string;
  readonly #esPort: number;

  constructor(
    ports: { kafka: number; elasticsearch: number },
    private readonly stateFile = LOCAL_STATE_FILE,
  ) {
    this.kafkaBrokers = `127.0.0.1:${ports.kafka}`;
    this.#esPort = ports.elasticsearch;
  }

  async elasticsearch(): Promise<ElasticsearchEndpoint> {
    return { url: `http://127.0.0.1:${this.#esPort}` };
  }

  state(): RuntimeState {
    if (!existsSync(this.stateFile)) throw new Error('the local runtime is not running: start it with `make dev`');
    return JSON.parse(readFileSync(this.stateFile, 'utf8')) as RuntimeState;
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
      const admin = new Kafka({ clientId: 'watch', brokers: [this.kafkaBrokers], connectionTimeout: 2000, logLevel: logLevel.NOTHING }).admin();
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
