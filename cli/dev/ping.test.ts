import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PingSchedule, nextTick, pingEvent } from './ping.ts';

describe('PingSource emulation', () => {
  const spec = { name: 'finalize-tick', schedule: '* * * * *', contentType: 'application/json', data: '{}', sink: 'window-aggregate' };

  it('fires on the cron schedule, in UTC', () => {
    expect(nextTick('* * * * *', new Date('2026-11-24T12:00:30.000Z')).toISOString()).toBe('2026-11-24T12:01:00.000Z');
    expect(nextTick('*/5 * * * *', new Date('2026-11-24T12:01:00.000Z')).toISOString()).toBe('2026-11-24T12:05:00.000Z');
  });

  it('sends the event the mt-ping adapter sends', () => {
    const event = pingEvent(spec, 'big-data-pipeline', new Date('2026-11-24T12:01:00.000Z'));
    expect(event).toMatchObject({
      type: 'dev.knative.sources.ping',
      source: '/apis/v1/namespaces/big-data-pipeline/pingsources/finalize-tick',
      time: '2026-11-24T12:01:00.000Z',
      datacontenttype: 'application/json',
      data: {},
    });
    expect(event.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  describe('a tick not accepted at once (fake timers)', () => {
    const at = new Date('2026-11-24T12:01:00.000Z');
    beforeEach(() => {
      vi.useFakeTimers();
    });
    afterEach(() => {
      vi.useRealTimers();
    });

    /** A sink that answers from `answers` in turn (an Error is a transport error), noting the time and event id of each request. */
    function sink(answers: (number | Error)[]) {
      const requests: { atMs: number; id: string | undefined }[] = [];
      const start = Date.now();
      return {
        requests,
        post: async (headers: Record<string, string>) => {
          requests.push({ atMs: Date.now() - start, id: headers['ce-id'] });
          const answer = answers.shift() ?? 200;
          if (answer instanceof Error) throw answer;
          return { status: answer, body: Buffer.alloc(0) };
        },
      };
    }

    it('retries a 5xx, a 429 and a transport error 1, 2 and 4 s apart with the same event', async () => {
      const target = sink([503, 429, new Error('ECONNREFUSED')]);
      const schedule = new PingSchedule(spec, 'big-data-pipeline', target, () => undefined);
      const done = schedule.fire(at);
      await vi.advanceTimersByTimeAsync(7000);
      await done;
      expect(target.requests.map((r) => r.atMs)).toEqual([0, 1000, 3000, 7000]);
      expect(new Set(target.requests.map((r) => r.id)).size).toBe(1);
      expect({ ticks: schedule.ticks, failures: schedule.failures }).toEqual({ ticks: 1, failures: 0 });
    });

    it('gives up at once on another 4xx, and after the fifth failed attempt, reporting the tick', async () => {
      const events: string[] = [];
      const rejected = sink([400]);
      const schedule = new PingSchedule(spec, 'big-data-pipeline', rejected, (m) => events.push(m));
      await schedule.fire(at);
      expect(rejected.requests).toHaveLength(1);

      const down = sink(Array<number>(6).fill(500));
      const retried = new PingSchedule(spec, 'big-data-pipeline', down, (m) => events.push(m));
      const done = retried.fire(at);
      await vi.advanceTimersByTimeAsync(60_000);
      await done;
      expect(down.requests.map((r) => r.atMs)).toEqual([0, 1000, 3000, 7000, 15_000]);
      expect([schedule, retried].map((s) => ({ ticks: s.ticks, failures: s.failures }))).toEqual([
        { ticks: 0, failures: 1 },
        { ticks: 0, failures: 1 },
      ]);
      expect(events).toEqual(Array(2).fill('finalize-tick: tick of 2026-11-24T12:01:00.000Z was not accepted'));
    });

    it('sends nothing more once stopped', async () => {
      const target = sink([503]);
      const schedule = new PingSchedule(spec, 'big-data-pipeline', target, () => undefined);
      const done = schedule.fire(at);
      schedule.stop();
      await vi.advanceTimersByTimeAsync(60_000);
      await done;
      expect(target.requests).toHaveLength(1);
      expect(schedule.failures).toBe(1);
    });
  });
});
