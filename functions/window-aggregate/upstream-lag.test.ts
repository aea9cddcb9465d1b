import type { Admin } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { deferred } from '../../test/helpers.ts';
import { ManualClock } from './fakes.ts';
import { UpstreamLag, kafkaBacklog } from './upstream-lag.ts';

const CACHE_MS = 1000;

function setup() {
  const clock = new ManualClock(5_000_000);
  const reads: number[] = [];
  let behind = true;
  const lag = new UpstreamLag({
    read: async (candidateMs) => {
      reads.push(candidateMs);
      return behind;
    },
    cacheMs: CACHE_MS,
    now: clock.now,
  });
  return { clock, reads, lag, setBehind: (b: boolean) => (behind = b) };
}

describe('UpstreamLag', () => {
  it('answers from a read younger than lagCacheMs, and reads again once it is that old', async () => {
    const { clock, reads, lag, setBehind } = setup();
    expect(await lag.behind(100)).toBe(true);
    setBehind(false);
    await clock.advance(CACHE_MS - 1);
    expect(await lag.behind(100)).toBe(true); // cached: Kafka is not asked
    expect(reads).toEqual([100]);
    await clock.advance(1);
    expect(await lag.behind(100)).toBe(false);
    expect(reads).toEqual([100, 100]);
  });

  it('reads again for a newer candidate, and answers an older one from the cache', async () => {
    const { reads, lag } = setup();
    await lag.behind(100);
    await lag.behind(99);
    await lag.behind(101);
    expect(reads).toEqual([100, 101]);
  });

  it('shares a read under way among concurrent callers', async () => {
    const answer = deferred<boolean>();
    let reads = 0;
    const clock = new ManualClock(0);
    const lag = new UpstreamLag({ read: () => (reads++, answer.promise), cacheMs: CACHE_MS, now: clock.now });
    const both = Promise.all([lag.behind(100), lag.behind(100)]);
    answer.resolve(false);
    expect(await both).toEqual([false, false]);
    expect(reads).toBe(1);
  });

  it('with lagCacheMs 0, reads every time', async () => {
    let reads = 0;
    const lag = new UpstreamLag({ read: async () => (reads++, false), cacheMs: 0, now: () => 0 });
    await lag.behind(100);
    await lag.behind(100);
    expect(reads).toBe(2);
  });
});

describe('kafkaBacklog', () => {
  it('is never behind without upstream groups or without Kafka', async () => {
    const unusable = {} as Admin; // any call on it would throw
    expect(await kafkaBacklog(unusable, [])(100)).toBe(false);
    expect(await kafkaBacklog(undefined, [{ group: 'g', topic: 't' }])(100)).toBe(false);
  });

  it('holds the watermark when Kafka cannot be reached', async () => {
    const unreachable = { connect: () => Promise.reject(new Error('ECONNREFUSED')) } as unknown as Admin;
    expect(await kafkaBacklog(unreachable, [{ group: 'g', topic: 't' }])(100)).toBe(true);
  });
});
