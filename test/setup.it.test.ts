/**
 * cli/setup.ts against the shared Elasticsearch: the index layout it leaves, what it says
 * about retention, and the one state it refuses.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { setupPlatform } from '../cli/setup.ts';
import { deletePipelineIndices, eventsIndexOf } from '../shared/elasticsearch.ts';
import { esClient, isolatedEnv } from './helpers.ts';

const es = esClient();
afterAll(() => es.close());

const namesOf = (env: Record<string, string>) => ({ EVENTS_INDEX: env.EVENTS_INDEX!, AGGREGATES_INDEX: env.AGGREGATES_INDEX!, FINALS_INDEX: env.FINALS_INDEX! });

describe('setupPlatform and the index layout', () => {
  it('says in one line how old events go (the local build has no ILM), and is safe to run again', async () => {
    const env = isolatedEnv();
    const line = await setupPlatform(env);
    expect(line).toBe(`no ILM in this Elasticsearch: daily ${env.EVENTS_INDEX} indices are kept until deleted by hand`);
    expect(await setupPlatform(env)).toBe(line);
    await deletePipelineIndices(es, namesOf(env));
  });

  it('creates a daily index on its first write, with the strict mapping and behind the alias, which refuses writes', async () => {
    const env = isolatedEnv();
    await setupPlatform(env);
    const index = eventsIndexOf(env.EVENTS_INDEX!, Date.parse('2024-05-01T12:00:00.000Z'));
    await es.index({ index, id: 'a', document: { event_id: 'a', timestamp: '2024-05-01T12:00:00.000Z' }, refresh: true });
    const created = (await es.indices.get({ index }))[index]!;
    expect(created.aliases).toEqual({ [env.EVENTS_INDEX!]: { is_write_index: false } });
    expect(created.mappings?.dynamic).toBe('strict');
    await expect(es.index({ index, id: 'b', document: { event_id: 'b', unknown_field: 1 } })).rejects.toThrow(/strict/);
    await expect(es.index({ index: env.EVENTS_INDEX!, id: 'c', document: { event_id: 'c' } })).rejects.toThrow(/write index/);
    await deletePipelineIndices(es, namesOf(env));
    expect(await es.indices.exists({ index: env.EVENTS_INDEX! })).toBe(false);
  });

  it('refuses an events index where the alias must be, naming what to do', async () => {
    const env = isolatedEnv();
    await es.indices.create({ index: env.EVENTS_INDEX! });
    await expect(setupPlatform(env)).rejects.toThrow(`${env.EVENTS_INDEX} is an index, but the pipeline needs the name for the alias`);
    await es.indices.delete({ index: env.EVENTS_INDEX! });
  });
});
