/**
 * Stages under `make dev`: the local runtime writes its state (cli/dev/state.ts) on every
 * scaling step; in/out rates come from the functions' own counters, read from each ready
 * instance's /metrics and differenced between two reads.
 */
import { readFile } from 'node:fs/promises';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { request } from 'undici';
import type { RuntimeState } from '../../cli/dev/state.ts';
import { type StageHealth, type StageReader, type StagesReport, known } from './types.ts';

/** The counters behind the rates, summed over a function's instances. */
export interface Counters {
  in: number;
  out: number;
}
export interface CounterSample {
  atMs: number;
  byFunction: Map<string, Counters>;
}

const COUNTERS = { pipeline_events_in_total: 'in', pipeline_events_out_total: 'out' } as const;

/** The two counters of one instance's Prometheus text, summed over their labels. */
export function countersOf(text: string): Counters {
  const counters: Counters = { in: 0, out: 0 };
  for (const family of parsePrometheusTextFormat(text)) {
    const key = COUNTERS[family.name as keyof typeof COUNTERS];
    if (!key) continue;
    for (const m of family.metrics) counters[key] += Number(m.value ?? 0);
  }
  return counters;
}

/**
 * Per-second rates between two samples. An instance that went away takes its counts along,
 * so a total that fell says nothing about this interval: null then, as for a first sample.
 */
export function ratesBetween(previous: CounterSample | undefined, current: CounterSample, name: string): { in: number | null; out: number | null } {
  const before = previous?.byFunction.get(name);
  const now = current.byFunction.get(name);
  const seconds = previous ? (current.atMs - previous.atMs) / 1000 : 0;
  const rate = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined || seconds <= 0 || b < a ? null : (b - a) / seconds);
  return { in: rate(before?.in, now?.in), out: rate(before?.out, now?.out) };
}

export function stagesOfState(state: RuntimeState, rates: (name: string) => { in: number | null; out: number | null }): StageHealth[] {
  return state.services.map((service) => {
    const source = state.sources.find((s) => s.sink === service.name);
    const rate = rates(service.name);
    return {
      function: service.name,
      source: source?.name ?? null,
      topic: source ? source.topics.join(',') : null,
      lag: known(source?.lag),
      vreplicas: known(source?.vreplicas),
      maxVReplicas: known(source?.maxScale),
      dispatcherPods: source ? source.placements.length : null,
      consumers: known(source?.members),
      instances: service.instances,
      inPerSecond: rate.in,
      outPerSecond: rate.out,
      deadLetters: known(source?.deadLettered),
    };
  });
}

export class LocalStages implements StageReader {
  #previous: CounterSample | undefined;

  constructor(
    private readonly stateFile: string,
    private readonly timeoutMs = 2000,
    private readonly now: () => number = Date.now,
  ) {}

  async read(): Promise<StagesReport> {
    const note = 'events the runtime sent to the dead-letter topic since it started';
    let state: RuntimeState;
    try {
      state = JSON.parse(await readFile(this.stateFile, 'utf8')) as RuntimeState;
    } catch (error) {
      return { origin: 'local runtime', at: null, stages: [], deadLetterNote: note, error: `no runtime state at ${this.stateFile} (${(error as Error).message})` };
    }
    const current = await this.#sample(state);
    const previous = this.#previous;
    this.#previous = current;
    return { origin: 'local runtime', at: state.at, stages: stagesOfState(state, (name) => ratesBetween(previous, current, name)), deadLetterNote: note };
  }

  async #sample(state: RuntimeState): Promise<CounterSample> {
    const atMs = this.now();
    const byFunction = new Map<string, Counters>();
    await Promise.all(
      state.services.map(async (service) => {
        const origin = new URL(service.url);
        const counts = await Promise.all(service.ports.map((port) => this.#scrape(`http://${origin.hostname}:${port}/metrics`)));
        // One instance unread: the sum would fall short, so no rate this time.
        if (counts.every((c) => c !== undefined)) byFunction.set(service.name, counts.reduce((a, c) => ({ in: a.in + c!.in, out: a.out + c!.out }), { in: 0, out: 0 }));
      }),
    );
    return { atMs, byFunction };
  }

  async #scrape(url: string): Promise<Counters | undefined> {
    try {
      const res = await request(url, { headersTimeout: this.timeoutMs, bodyTimeout: this.timeoutMs });
      const text = await res.body.text();
      return res.statusCode === 200 ? countersOf(text) : undefined;
    } catch {
      return undefined;
    }
  }
}
