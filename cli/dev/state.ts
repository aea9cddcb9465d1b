/**
 * What the local runtime reports of itself: the state `make watch` and the bench read,
 * written to `<stateDir>/state.json` on every scaling step.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DispatcherSettings } from '../manifests/releases.ts';
import type { Decision } from '../scaling/consumer-group.ts';
import type { FunctionPool } from './pool.ts';

export interface SourceState {
  name: string;
  topics: string[];
  sink: string;
  consumerGroup: string;
  lag: number;
  /** The ConsumerGroup's vreplicas (KEDA/the HPA). */
  vreplicas: number;
  maxScale: number;
  /** The dispatcher pods it is placed on (one Kafka consumer each), and how many vreplicas on each. */
  placements: { podName: string; vreplicas: number }[];
  /** Members of its consumer group as Kafka reports them. */
  members: number;
  /** When its KEDA ScaledObject (and so its polling and HPA loops) was created, ms since the epoch on the scaling clock; null when not autoscaled. */
  autoscalerSince: number | null;
  delivered: number;
  deadLettered: number;
  retries: number;
  inFlight: number;
}

export interface ServiceState {
  name: string;
  url: string;
  instances: number;
  desired: number;
  ready: number;
  inFlight: number;
  restarts: number;
  requests: number;
  ports: number[];
}

export interface RuntimeState {
  at: string;
  /** The runtime's process: a state file whose process is gone describes nothing that runs. */
  pid: number;
  /** The kafka-source-dispatcher StatefulSet: its pods and the settings that place vreplicas on them. */
  dispatcher: { pods: number } & DispatcherSettings;
  sources: SourceState[];
  services: ServiceState[];
  decisions: (Decision & { source: string })[];
  events: string[];
}

export function serviceState(name: string, pool: FunctionPool): ServiceState {
  return {
    name,
    url: pool.url,
    instances: pool.live,
    desired: pool.desired,
    ready: pool.ready.length,
    inFlight: pool.inFlight,
    restarts: pool.restarts,
    requests: pool.requests,
    ports: pool.ports(),
  };
}

export function writeState(stateDir: string, state: RuntimeState): void {
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(join(stateDir, 'state.json'), JSON.stringify(state, null, 1));
}
