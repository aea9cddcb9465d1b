/**
 * Test doubles for the unit tests of this folder: an in-memory WindowStore with the same
 * write rules as Elasticsearch (external versions, create-once finals, searchable only after
 * a refresh) and a clock the test moves by hand.
 */
import { aggregateVersion, windowEndOf } from '../../shared/window.ts';
import { CELLS, aggregateDocId, type AggregateDoc, type Cell, type FinalCounts, type WindowState } from './aggregate.ts';
import type { FinalRecord, WindowStore } from './store.ts';

/** Lets every promise callback that is ready run. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Time that moves only when the test says so; sleeps end when it passes them. */
export class ManualClock {
  readonly sleeps: number[] = [];
  #timers: { at: number; wake: () => void }[] = [];

  constructor(public ms: number) {}

  readonly now = (): number => this.ms;

  readonly sleep = (ms: number): Promise<void> => {
    this.sleeps.push(ms);
    return new Promise((wake) => this.#timers.push({ at: this.ms + ms, wake }));
  };

  async advance(ms: number): Promise<void> {
    this.ms += ms;
    const due = this.#timers.filter((t) => t.at <= this.ms);
    this.#timers = this.#timers.filter((t) => t.at > this.ms);
    for (const t of due) t.wake();
    await settle();
  }
}

export interface StoredEvent {
  event_id: string;
  timestamp: string;
  window_start: string;
  event_type: string;
  region: string;
  user_id: number;
  price_cents: number;
  quantity: number;
  revenue_cents: number;
  indexed_at: string;
}

type Method = keyof WindowStore;

export class FakeStore implements WindowStore {
  /** Every event indexed, by id; searchable only as of the last refresh's start. */
  readonly #indexed = new Map<string, StoredEvent>();
  readonly #searchable = new Map<string, StoredEvent>();
  readonly aggregates = new Map<string, { version: number; doc: AggregateDoc }>();
  readonly finals = new Map<string, FinalRecord>();
  readonly calls: Record<Method, number> = { latestEventTime: 0, refreshEvents: 0, cells: 0, finalCounts: 0, createFinal: 0, writeAggregates: 0, windowStates: 0 };
  /** Refreshes wait for this before they finish, when set. */
  holdRefresh: Promise<void> | undefined;
  readonly #failures = new Map<Method, unknown>();

  index(...events: StoredEvent[]): void {
    for (const e of events) this.#indexed.set(e.event_id, e);
  }

  /** The next call of `method` throws `error`. */
  failNext(method: Method, error: unknown): void {
    this.#failures.set(method, error);
  }

  #call(method: Method): void {
    this.calls[method]++;
    const error = this.#failures.get(method);
    if (error === undefined) return;
    this.#failures.delete(method);
    throw error;
  }

  async latestEventTime(): Promise<number | undefined> {
    this.#call('latestEventTime');
    const times = [...this.#searchable.values()].map((e) => Date.parse(e.timestamp));
    return times.length === 0 ? undefined : Math.max(...times);
  }

  /** Like the daily indices: a window's refresh makes only the events of its UTC day searchable. */
  async refreshEvents(windowStartIso?: string): Promise<void> {
    this.#call('refreshEvents');
    const day = windowStartIso?.slice(0, 10);
    for (const e of this.#indexed.values()) if (day === undefined || e.timestamp.slice(0, 10) === day) this.#searchable.set(e.event_id, e);
    await this.holdRefresh;
  }

  async cells(windowStartIso: string): Promise<Cell[]> {
    this.#call('cells');
    const byCell = new Map<string, StoredEvent[]>();
    for (const e of this.#searchable.values()) {
      if (e.window_start !== windowStartIso) continue;
      const key = `${e.event_type}/${e.region}`;
      byCell.set(key, [...(byCell.get(key) ?? []), e]);
    }
    return CELLS.flatMap(({ event_type, region }) => {
      const events = byCell.get(`${event_type}/${region}`);
      if (!events) return [];
      const sum = (f: (e: StoredEvent) => number) => events.reduce((s, e) => s + f(e), 0);
      return [
        {
          event_type,
          region,
          count: events.length,
          revenue_cents: sum((e) => e.revenue_cents),
          quantity: sum((e) => e.quantity),
          price_cents_sum: sum((e) => e.price_cents),
          unique_users: new Set(events.map((e) => e.user_id)).size,
          max_indexed_at: Math.max(...events.map((e) => Date.parse(e.indexed_at))),
        },
      ];
    });
  }

  async finalCounts(windowStartIso: string): Promise<FinalCounts | undefined> {
    this.#call('finalCounts');
    return this.finals.get(windowStartIso)?.counts;
  }

  async createFinal(record: FinalRecord): Promise<{ created: boolean; counts: FinalCounts }> {
    this.#call('createFinal');
    const existing = this.finals.get(record.window_start);
    if (existing) return { created: false, counts: existing.counts };
    this.finals.set(record.window_start, record);
    return { created: true, counts: record.counts };
  }

  async writeAggregates(docs: AggregateDoc[]): Promise<void> {
    this.#call('writeAggregates');
    for (const doc of docs) {
      const id = aggregateDocId(doc);
      const version = aggregateVersion(doc.count, doc.status === 'final');
      const stored = this.aggregates.get(id);
      if (!stored || stored.version < version) this.aggregates.set(id, { version, doc });
    }
  }

  async windowStates(sinceMs: number): Promise<WindowState[]> {
    this.#call('windowStates');
    const states = new Map<string, WindowState>();
    for (const e of this.#searchable.values()) {
      const windowStartMs = Date.parse(e.window_start);
      if (windowStartMs < sinceMs) continue;
      const state = states.get(e.window_start) ?? { windowStartMs, maxIndexedAtMs: 0 };
      state.maxIndexedAtMs = Math.max(state.maxIndexedAtMs, Date.parse(e.indexed_at));
      states.set(e.window_start, state);
    }
    for (const { doc } of this.aggregates.values()) {
      const state = states.get(doc.window_start);
      if (!state) continue;
      const computedAt = Date.parse(doc.computed_at);
      state.minComputedAtMs = Math.min(state.minComputedAtMs ?? computedAt, computedAt);
      state.anyOpen = state.anyOpen === true || doc.status === 'open';
    }
    return [...states.values()].sort((a, b) => a.windowStartMs - b.windowStartMs);
  }

  /** The stored aggregate of one cell. */
  aggregate(windowStartMs: number, eventType: string, region: string): AggregateDoc | undefined {
    return this.aggregates.get(aggregateDocId({ window_start: new Date(windowStartMs).toISOString(), event_type: eventType, region }))?.doc;
  }
}

/** An event of the window starting at `windowStartMs`, `offsetMs` into it. */
export function eventIn(windowStartMs: number, offsetMs: number, fields: Partial<StoredEvent> & { event_id: string; indexed_at: string }): StoredEvent {
  if (offsetMs >= windowEndOf(windowStartMs) - windowStartMs) throw new RangeError('offset past the window end');
  return {
    timestamp: new Date(windowStartMs + offsetMs).toISOString(),
    window_start: new Date(windowStartMs).toISOString(),
    event_type: 'view',
    region: 'EU',
    user_id: 1001,
    price_cents: 1000,
    quantity: 1,
    revenue_cents: 0,
    ...fields,
  };
}
