import { describe, expect, it } from 'vitest';
import { nextTick, pingEvent } from './ping.ts';

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
});
