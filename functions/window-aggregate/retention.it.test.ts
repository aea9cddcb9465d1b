/**
 * Daily events indices and retention, against real Elasticsearch: windows on both sides of a
 * UTC midnight are exact, and a day whose events index is gone keeps its final aggregates.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CeType } from '../../shared/ce-types.ts';
import { loadConfig } from '../../shared/config.ts';
import { esClientFor, eventsIndexOf } from '../../shared/elasticsearch.ts';
import { createMetrics } from '../../shared/metrics.ts';
import { binary, ce, esClient, isolatedEnv, preparePlatform } from '../../test/helpers.ts';
import type { AggregateDoc } from './aggregate.ts';
import { build, configSchema } from './app.ts';
import { eventIn } from './fakes.ts';

const DAY_MS = 86_400_000;

describe('window-aggregate over daily events indices (real Elasticsearch)', () => {
  const env = isolatedEnv();
  const es = esClient();
  let server: FastifyInstance;
  const midnight = Math.floor(Date.now() / DAY_MS) * DAY_MS;
  const lastWindow = midnight - 60_000;
  const iso = (ms: number) => new Date(ms).toISOString();
  const indexed = iso(Date.now());
  const events = [
    eventIn(lastWindow, 0, { event_id: 'a', indexed_at: indexed }),
    eventIn(lastWindow, 59_999, { event_id: 'b', user_id: 1002, indexed_at: indexed }),
    eventIn(midnight, 0, { event_id: 'c', indexed_at: indexed }),
    // Moves the watermark past both windows.
    eventIn(midnight + 60_000, 50_000, { event_id: 'd', indexed_at: indexed }),
  ];
  const touch = async (windowStartMs: number) => {
    const res = await server.inject(binary(ce({ type: CeType.windowTouched, data: { window_start: iso(windowStartMs) } })));
    expect(res.statusCode).toBe(200);
    return res.json() as { events: number; status: string };
  };
  const aggregate = async (windowStartMs: number) => {
    await es.indices.refresh({ index: env.AGGREGATES_INDEX! });
    return (await es.get<AggregateDoc>({ index: env.AGGREGATES_INDEX!, id: `${iso(windowStartMs)}|view|EU` }))._source!;
  };

  beforeAll(async () => {
    await preparePlatform(env);
    const config = loadConfig(configSchema, env);
    server = build(config, { es: esClientFor(config), metrics: createMetrics({ function: 'window-aggregate' }) });
    // Written as index writes them, a redelivery of `a` included.
    const response = await es.bulk({
      operations: [...events, events[0]!].flatMap((e) => [{ index: { _index: eventsIndexOf(env.EVENTS_INDEX!, Date.parse(e.timestamp)), _id: e.event_id } }, e]),
    });
    expect(response.errors).toBe(false);
  });
  afterAll(async () => {
    await server.close();
    await es.close();
  });

  it('keeps each day in its own index and reads them all through the alias, a redelivery stored once', async () => {
    await es.indices.refresh({ index: env.EVENTS_INDEX! });
    expect(Object.keys(await es.indices.getAlias({ name: env.EVENTS_INDEX! })).sort()).toEqual([
      eventsIndexOf(env.EVENTS_INDEX!, lastWindow),
      eventsIndexOf(env.EVENTS_INDEX!, midnight),
    ]);
    expect((await es.count({ index: env.EVENTS_INDEX! })).count).toBe(4);
  });

  it('recomputes the windows on both sides of midnight exactly, and finalizes them', async () => {
    expect(await touch(lastWindow)).toMatchObject({ events: 2, status: 'final' });
    expect(await touch(midnight)).toMatchObject({ events: 1, status: 'final' });
    expect(await aggregate(lastWindow)).toMatchObject({ count: 2, unique_users: 2, status: 'final', final_count: 2, late_events: 0 });
    expect(await aggregate(midnight)).toMatchObject({ count: 1, status: 'final', final_count: 1 });
  });

  it('leaves the final aggregates of a day whose index retention deleted as they were, on a late notice and on the tick', async () => {
    const before = await aggregate(lastWindow);
    await es.indices.delete({ index: eventsIndexOf(env.EVENTS_INDEX!, lastWindow) });
    expect(await touch(lastWindow)).toMatchObject({ events: 0, status: 'empty' });
    const tick = await server.inject(binary(ce({ type: CeType.ping, data: {} })));
    expect(tick.statusCode).toBe(200);
    expect(tick.json().recomputed).not.toContain(iso(lastWindow));
    expect(await aggregate(lastWindow)).toEqual(before);
    // The other day is untouched, and still read through the alias.
    expect((await es.count({ index: env.EVENTS_INDEX! })).count).toBe(2);
    expect(await touch(midnight)).toMatchObject({ events: 1, status: 'final' });
  });

  it('gives a late event into a deleted day a daily index again, and never lowers the final aggregate', async () => {
    const before = await aggregate(lastWindow);
    const late = eventIn(lastWindow, 30_000, { event_id: 'late', indexed_at: iso(Date.now()) });
    await es.index({ index: eventsIndexOf(env.EVENTS_INDEX!, lastWindow), id: late.event_id, document: late });
    expect(await touch(lastWindow)).toMatchObject({ events: 1, status: 'final' });
    // One event now against two before: an older, smaller version, refused.
    expect(await aggregate(lastWindow)).toEqual(before);
  });
});
