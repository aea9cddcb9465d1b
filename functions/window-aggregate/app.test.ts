/**
 * The routes of window-aggregate with app.inject() on the in-memory store: which notice
 * reaches which recomputation, and what the answers carry. Elasticsearch itself is in
 * app.it.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { CeType } from '../../shared/ce-types.ts';
import { loadConfig } from '../../shared/config.ts';
import { esClientFor } from '../../shared/elasticsearch.ts';
import { createMetrics } from '../../shared/metrics.ts';
import { UNREACHABLE, binary, ce, isolatedEnv, structured } from '../../test/helpers.ts';
import { build, configSchema } from './app.ts';
import { FakeStore, ManualClock, eventIn } from './fakes.ts';

const W = Date.parse('2024-05-01T12:34:00.000Z');
const W_ISO = '2024-05-01T12:34:00.000Z';

function app(env: Record<string, string> = {}) {
  const config = loadConfig(configSchema, isolatedEnv({ ...UNREACHABLE, REFRESH_MIN_INTERVAL_MS: '0', ...env }));
  const clock = new ManualClock(W + 10 * 60_000);
  const store = new FakeStore();
  store.index(eventIn(W, 1000, { event_id: 'a', indexed_at: W_ISO }), eventIn(W, 2000, { event_id: 'b', region: 'US', indexed_at: W_ISO }));
  const server = build(config, { es: esClientFor(config), metrics: createMetrics({ function: 'window-aggregate' }), now: clock.now, store });
  const touched = (time?: string) => server.inject(binary(ce({ type: CeType.windowTouched, data: { window_start: W_ISO }, ...(time ? { time } : {}) })));
  return { server, clock, store, touched };
}

describe('window-aggregate routes', () => {
  it('recomputes the window of a notice and answers with its result', async () => {
    const { server, touched } = app();
    const res = await touched();
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ window_start: W_ISO, cells: 2, events: 2, status: 'open', watermark: null });
    await server.close();
  });

  it('answers a notice from the recomputation that covered it, by the CloudEvent time', async () => {
    const { server, clock, store, touched } = app();
    const refreshedAt = clock.now();
    await touched(new Date(refreshedAt - 5000).toISOString());
    const res = await touched(new Date(refreshedAt - 2000).toISOString());
    expect(res.json()).toMatchObject({ events: 2, coalesced: true });
    expect(store.calls.cells).toBe(1);
    await server.close();
  });

  it('finalizes due windows on the ping and lists them', async () => {
    const { server, clock, store, touched } = app({ ALLOWED_LATENESS_SECONDS: '30' });
    await touched();
    const res = await server.inject(structured(ce({ type: CeType.ping, data: {} })));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ watermark: new Date(clock.now() - 30_000).toISOString(), recomputed: [W_ISO] });
    expect(store.aggregate(W, 'view', 'US')).toMatchObject({ status: 'final', final_count: 1 });
    await server.close();
  });

  it('answers 400 for an invalid notice, before any read', async () => {
    const { server, store } = app();
    const res = await server.inject(binary(ce({ type: CeType.windowTouched, data: { window_start: 'soon' } })));
    expect(res.statusCode).toBe(400);
    expect(store.calls.cells).toBe(0);
    await server.close();
  });

  it('refuses upstream groups without a Kafka admin', () => {
    expect(() => app({ UPSTREAM_CONSUMER_GROUPS: 'enrich:raw' })).toThrow(/KAFKA_BROKERS/);
  });
});
