/**
 * Where `make load`, `make watch` and `make redrive` act: the local runtime (`make dev`) or,
 * later, a cluster. Everything those commands need goes through this one interface.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { RuntimeState } from './dev/runtime.ts';

export interface SourceView {
  name: string;
  topic: string;
  sink: string;
  lag: number;
  consumers: number;
  maxConsumers: number;
  instances: number;
  delivered: number;
  deadLettered: number;
}

export interface PipelineTarget {
  name: string;
  kafkaBrokers: string;
  elasticsearchUrl: string;
  /** URL to POST generate.request CloudEvents to. */
  generateUrl(): string;
  sources(): Promise<SourceView[]>;
  /** Recent scaling decisions and notable events, newest last. */
  events(): Promise<string[]>;
}

export class LocalTarget implements PipelineTarget {
  readonly name = 'local';
  readonly kafkaBrokers = `127.0.0.1:${process.env['KAFKA_PORT'] ?? 19092}`;
  readonly elasticsearchUrl = `http://127.0.0.1:${process.env['ES_PORT'] ?? 19200}`;

  constructor(private readonly stateFile = resolve(import.meta.dirname, '../.run/dev/state.json')) {}

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
        consumers: s.consumers,
        maxConsumers: s.maxScale,
        instances: service?.instances ?? 0,
        delivered: s.delivered,
        deadLettered: s.deadLettered,
      };
    });
  }

  async events(): Promise<string[]> {
    return this.state().events;
  }
}

export function targetFromEnv(): PipelineTarget {
  const name = process.env['TARGET'] ?? 'local';
  if (name === 'local') return new LocalTarget();
  throw new Error(`unknown TARGET "${name}" (use local)`);
}
