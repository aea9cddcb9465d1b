import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type BatcherOptions, MicroBatcher, type FlushFn, type Outcome } from './batcher.ts';
import { fixedLimit } from './concurrency.ts';
import { type Deferred, deferred } from '../test/helpers.ts';

/** A flush function that records every batch and answers each item with `ok(item * 10)`. */
function recordingFlush(): { fn: FlushFn<number, number>; batches: number[][] } {
  const batches: number[][] = [];
  const fn: FlushFn<number, number> = async (items) => {
    batches.push([...items]);
    return items.map((i) => ({ ok: true, value: i * 10 }));
  };
  return { fn, batches };
}

/** A batcher whose first batch, [1], is out and stays in flight until `gate` is resolved. */
async function firstBatchOut(options: BatcherOptions): Promise<{ batcher: MicroBatcher<number, number>; batches: number[][]; gate: Deferred<void> }> {
  const gate = deferred<void>();
  const batches: number[][] = [];
  const batcher = new MicroBatcher<number, number>(async (items) => {
    batches.push([...items]);
    if (batches.length === 1) await gate.promise;
    return items.map((i) => ({ ok: true, value: i }));
  }, options);
  void batcher.add(1);
  await vi.advanceTimersByTimeAsync(0);
  return { batcher, batches, gate };
}

/** Lets queued promise callbacks run without moving (fake) time. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

describe('MicroBatcher', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('flushes as soon as maxItems items are parked, without waiting for the timer', async () => {
    const { fn, batches } = recordingFlush();
    const batcher = new MicroBatcher(fn, { maxItems: 3, maxWaitMs: 10_000 });
    const results = Promise.all([batcher.add(1), batcher.add(2), batcher.add(3)]);
    await settle();
    expect(batches).toEqual([[1, 2, 3]]);
    await expect(results).resolves.toEqual([10, 20, 30]);
    expect(batcher.pending).toBe(0);
  });

  it('flushes at once when no batch is in flight, gathering the items of the same turn', async () => {
    const { fn, batches } = recordingFlush();
    const batcher = new MicroBatcher(fn, { maxItems: 10, maxWaitMs: 20 });
    const a = batcher.add(1);
    const b = batcher.add(2);
    expect(batches).toEqual([]);
    await vi.advanceTimersByTimeAsync(0);
    expect(batches).toEqual([[1, 2]]);
    await expect(a).resolves.toBe(10);
    await expect(b).resolves.toBe(20);
  });

  it('while a batch is in flight, gathers the next one until it settles (no fewer-than-maxItems flush before that)', async () => {
    const { batcher, batches, gate } = await firstBatchOut({ maxItems: 10, maxWaitMs: 1000 });
    void batcher.add(2);
    void batcher.add(3);
    await vi.advanceTimersByTimeAsync(500);
    expect(batches).toEqual([[1]]);
    gate.resolve();
    await vi.advanceTimersByTimeAsync(0);
    expect(batches).toEqual([[1], [2, 3]]);
  });

  it('flushes at maxWaitMs even while an earlier batch is still in flight', async () => {
    const { batcher, batches, gate } = await firstBatchOut({ maxItems: 10, maxWaitMs: 20 });
    void batcher.add(2);
    await vi.advanceTimersByTimeAsync(19);
    expect(batches).toEqual([[1]]);
    await vi.advanceTimersByTimeAsync(1);
    expect(batches).toEqual([[1], [2]]);
    gate.resolve();
  });

  it('settles each caller with the outcome of its own item when a batch mixes successes and failures', async () => {
    const failures = new Map<number, Error>();
    const fn: FlushFn<number, string> = async (items) =>
      items.map((i): Outcome<string> => {
        if (i % 2 === 0) return { ok: true, value: `ok-${i}` };
        const error = new Error(`bad-${i}`);
        failures.set(i, error);
        return { ok: false, error };
      });
    const batcher = new MicroBatcher(fn, { maxItems: 4, maxWaitMs: 1000 });
    const results = await Promise.allSettled([batcher.add(0), batcher.add(1), batcher.add(2), batcher.add(3)]);
    expect(results).toEqual([
      { status: 'fulfilled', value: 'ok-0' },
      { status: 'rejected', reason: failures.get(1) },
      { status: 'fulfilled', value: 'ok-2' },
      { status: 'rejected', reason: failures.get(3) },
    ]);
    // The very error object of the item, not a copy.
    expect((results[1] as PromiseRejectedResult).reason).toBe(failures.get(1));
  });

  it('rejects every item of a batch whose flushFn throws, and only that batch', async () => {
    const boom = new Error('bulk request failed');
    let call = 0;
    const fn: FlushFn<string, string> = async (items) => {
      call++;
      if (call === 1) throw boom;
      return items.map((i) => ({ ok: true, value: i.toUpperCase() }));
    };
    const batcher = new MicroBatcher(fn, { maxItems: 2, maxWaitMs: 1000 });
    const first = [batcher.add('a'), batcher.add('b')];
    const second = [batcher.add('c'), batcher.add('d')];
    const results = await Promise.allSettled([...first, ...second]);
    expect(results).toEqual([
      { status: 'rejected', reason: boom },
      { status: 'rejected', reason: boom },
      { status: 'fulfilled', value: 'C' },
      { status: 'fulfilled', value: 'D' },
    ]);
  });

  it('rejects every item when flushFn throws synchronously', async () => {
    const boom = new Error('sync failure');
    const fn = ((): Promise<Outcome<number>[]> => {
      throw boom;
    }) as FlushFn<number, number>;
    const batcher = new MicroBatcher(fn, { maxItems: 2, maxWaitMs: 1000 });
    const results = await Promise.allSettled([batcher.add(1), batcher.add(2)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(results.map((r) => (r as PromiseRejectedResult).reason)).toEqual([boom, boom]);
  });

  it('rejects the items for which flushFn returned no outcome', async () => {
    const fn: FlushFn<number, number> = async (items) => items.slice(0, 1).map((i) => ({ ok: true, value: i }));
    const batcher = new MicroBatcher(fn, { maxItems: 3, maxWaitMs: 1000 });
    const [a, b, c] = await Promise.allSettled([batcher.add(7), batcher.add(8), batcher.add(9)]);
    expect(a).toEqual({ status: 'fulfilled', value: 7 });
    expect(b?.status).toBe('rejected');
    expect(String((b as PromiseRejectedResult).reason)).toMatch(/no outcome for item 1/);
    expect(String((c as PromiseRejectedResult).reason)).toMatch(/no outcome for item 2/);
  });

  it('flushes every item alone with maxItems 1', async () => {
    const { fn, batches } = recordingFlush();
    const sizes: number[] = [];
    const batcher = new MicroBatcher(fn, { maxItems: 1, maxWaitMs: 10_000, onFlush: (n) => sizes.push(n) });
    const results = await Promise.all([batcher.add(1), batcher.add(2), batcher.add(3)]);
    expect(results).toEqual([10, 20, 30]);
    expect(batches).toEqual([[1], [2], [3]]);
    expect(sizes).toEqual([1, 1, 1]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('reports the size of every flushed batch to onFlush', async () => {
    const { fn } = recordingFlush();
    const sizes: number[] = [];
    const batcher = new MicroBatcher(fn, { maxItems: 3, maxWaitMs: 20, onFlush: (n) => sizes.push(n) });
    const all = Array.from({ length: 7 }, (_, i) => batcher.add(i));
    await settle();
    expect(sizes).toEqual([3, 3]);
    await vi.advanceTimersByTimeAsync(20);
    expect(sizes).toEqual([3, 3, 1]);
    await expect(Promise.all(all)).resolves.toEqual([0, 10, 20, 30, 40, 50, 60]);
  });

  it('does not call flushFn or onFlush for an empty flush', async () => {
    const { fn, batches } = recordingFlush();
    const sizes: number[] = [];
    const batcher = new MicroBatcher(fn, { maxItems: 3, maxWaitMs: 20, onFlush: (n) => sizes.push(n) });
    await batcher.flush();
    expect(batches).toEqual([]);
    expect(sizes).toEqual([]);
  });

  it('close() flushes parked items, waits for batches in flight, then refuses new items', async () => {
    const inFlight = deferred<Outcome<number>[]>();
    const batches: number[][] = [];
    let calls = 0;
    const fn: FlushFn<number, number> = (items) => {
      batches.push([...items]);
      calls++;
      // The first batch hangs until the test releases it; later ones answer at once.
      return calls === 1 ? inFlight.promise : Promise.resolve(items.map((i) => ({ ok: true, value: -i })));
    };
    const batcher = new MicroBatcher(fn, { maxItems: 2, maxWaitMs: 10_000 });
    const a = batcher.add(1);
    const b = batcher.add(2); // batch [1, 2] in flight, hanging
    const c = batcher.add(3); // parked
    await settle();
    expect(batches).toEqual([[1, 2]]);
    expect(batcher.pending).toBe(1);

    let closed = false;
    const closing = batcher.close().then(() => {
      closed = true;
    });
    await settle();
    // The parked item went out without waiting for the timer...
    expect(batches).toEqual([[1, 2], [3]]);
    await expect(c).resolves.toBe(-3);
    // ...but close() still waits for the batch in flight.
    expect(closed).toBe(false);

    inFlight.resolve([
      { ok: true, value: 100 },
      { ok: true, value: 200 },
    ]);
    await closing;
    expect(closed).toBe(true);
    await expect(a).resolves.toBe(100);
    await expect(b).resolves.toBe(200);

    await expect(batcher.add(4)).rejects.toThrow(/closed/);
    expect(batches).toEqual([[1, 2], [3]]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('close() on an idle batcher resolves at once', async () => {
    const { fn, batches } = recordingFlush();
    const batcher = new MicroBatcher(fn, { maxItems: 2, maxWaitMs: 20 });
    await expect(batcher.close()).resolves.toBeUndefined();
    expect(batches).toEqual([]);
    // Shutting down is not the event's fault: 503, retried against another instance.
    await expect(batcher.add(1)).rejects.toMatchObject({ statusCode: 503, message: 'shutting down: the batcher is closed' });
  });

  it.each([
    [{ maxItems: 0, maxWaitMs: 20 }],
    [{ maxItems: -1, maxWaitMs: 20 }],
    [{ maxItems: 1.5, maxWaitMs: 20 }],
    [{ maxItems: Number.NaN, maxWaitMs: 20 }],
    [{ maxItems: 10, maxWaitMs: -1 }],
    [{ maxItems: 10, maxWaitMs: Number.NaN }],
  ])('rejects bad options %o', (options) => {
    const { fn } = recordingFlush();
    expect(() => new MicroBatcher(fn, options)).toThrow(RangeError);
  });

  it('accepts maxItems 1 and maxWaitMs 0', () => {
    const { fn } = recordingFlush();
    expect(() => new MicroBatcher(fn, { maxItems: 1, maxWaitMs: 0 })).not.toThrow();
  });
});

describe('MicroBatcher backpressure', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** A flush function whose batches stay in flight until the test releases them, oldest first. */
  function heldFlush() {
    const batches: number[][] = [];
    const gates: Deferred<void>[] = [];
    const fn: FlushFn<number, number> = async (items) => {
      batches.push([...items]);
      const gate = deferred<void>();
      gates.push(gate);
      await gate.promise;
      return items.map((i) => ({ ok: true, value: i }));
    };
    return { fn, batches, release: async () => {
      gates.shift()!.resolve();
      await settle();
      await vi.advanceTimersByTimeAsync(0);
    } };
  }

  it('keeps at most `limit` batches in flight; what queues behind goes as one batch of up to maxBatchItems', async () => {
    const { fn, batches, release } = heldFlush();
    const batcher = new MicroBatcher(fn, { maxItems: 2, maxWaitMs: 20, maxBatchItems: 5, concurrency: fixedLimit(1) });
    for (let i = 1; i <= 9; i++) void batcher.add(i);
    await vi.advanceTimersByTimeAsync(100);
    // 1 and 2 went at maxItems; 3…9 wait for the slot, whatever maxItems and the timer say.
    expect(batches).toEqual([[1, 2]]);
    expect(batcher.pending).toBe(7);
    await release();
    expect(batches).toEqual([[1, 2], [3, 4, 5, 6, 7]]);
    await release();
    expect(batches).toEqual([[1, 2], [3, 4, 5, 6, 7], [8, 9]]);
    await release();
    expect(batcher.pending).toBe(0);
  });

  it('refuses an item that waited maxQueueMs for a slot, with the error the caller answers', async () => {
    const { fn, batches, release } = heldFlush();
    const batcher = new MicroBatcher(fn, {
      maxItems: 1,
      maxWaitMs: 0,
      concurrency: fixedLimit(1),
      maxQueueMs: 1000,
      queueTimeout: (ms) => new Error(`waited ${ms} ms`),
    });
    const first = batcher.add(1);
    await vi.advanceTimersByTimeAsync(0);
    const second = batcher.add(2);
    const outcome = second.then(
      () => 'answered',
      (e: Error) => e.message,
    );
    await vi.advanceTimersByTimeAsync(999);
    expect(batcher.pending).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    await expect(outcome).resolves.toBe('waited 1000 ms');
    expect(batcher.pending).toBe(0);
    await release();
    await expect(first).resolves.toBe(1);
    expect(batches).toEqual([[1]]);
  });

  it('feeds every batch\'s latency and overload verdict to the limit', async () => {
    const seen: [number, boolean][] = [];
    const limit = { limit: 2, record: (ms: number, overloaded: boolean) => void seen.push([ms, overloaded]) };
    const fn: FlushFn<number, number> = async (items) => {
      await new Promise((r) => setTimeout(r, 50));
      return items.map((i) => (i === 13 ? { ok: false, error: new Error('overloaded') } : { ok: true, value: i }));
    };
    const batcher = new MicroBatcher(fn, { maxItems: 1, maxWaitMs: 0, concurrency: limit, isOverload: (e) => (e as Error).message === 'overloaded' });
    const a = batcher.add(1);
    const b = batcher.add(13).catch(() => 'failed');
    await vi.advanceTimersByTimeAsync(60);
    await expect(a).resolves.toBe(1);
    await expect(b).resolves.toBe('failed');
    expect(seen).toEqual([
      [50, false],
      [50, true],
    ]);
  });
});

describe('MicroBatcher with real timers', () => {
  it('with real timers: an idle batcher answers a partial batch without waiting for maxWaitMs', async () => {
    const { fn, batches } = recordingFlush();
    const batcher = new MicroBatcher(fn, { maxItems: 100, maxWaitMs: 10_000 });
    await expect(Promise.all([batcher.add(1), batcher.add(2)])).resolves.toEqual([10, 20]);
    expect(batches).toEqual([[1, 2]]);
  });
});
