import { afterAll } from 'vitest';
import { ensureIndices, eventsIndexOf } from '../../shared/elasticsearch.ts';
import { esClient, isolatedEnv } from '../../test/helpers.ts';
import type { AggregateDoc } from './aggregate.ts';
import { storeContract } from './store.contract.ts';
import { elasticsearchStore } from './store.ts';

const es = esClient();
afterAll(() => es.close());

storeContract('Elasticsearch', async () => {
  // Fresh indices for every test; Kafka is not needed here.
  const env = isolatedEnv();
  await ensureIndices(es, { EVENTS_INDEX: env.EVENTS_INDEX!, AGGREGATES_INDEX: env.AGGREGATES_INDEX!, FINALS_INDEX: env.FINALS_INDEX!, EVENTS_RETENTION_DAYS: 30 });
  return {
    store: elasticsearchStore(es, { events: env.EVENTS_INDEX!, aggregates: env.AGGREGATES_INDEX!, finals: env.FINALS_INDEX! }),
    async indexEvents(events) {
      // As index writes them: each into the daily index of its time.
      const operations = events.flatMap((e) => [{ index: { _index: eventsIndexOf(env.EVENTS_INDEX!, Date.parse(e.timestamp)), _id: e.event_id } }, e]);
      const response = await es.bulk({ operations });
      if (response.errors) throw new Error(`bulk failed: ${JSON.stringify(response.items.find((i) => i.index?.error))}`);
    },
    async readAggregate(id) {
      const doc = await es.get<AggregateDoc>({ index: env.AGGREGATES_INDEX!, id }, { ignore: [404] });
      return doc.found ? doc._source : undefined;
    },
    async settleWrites() {
      await es.indices.refresh({ index: env.AGGREGATES_INDEX! });
    },
  };
});
