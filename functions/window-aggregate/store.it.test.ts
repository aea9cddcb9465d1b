import { afterAll } from 'vitest';
import { ensureIndices } from '../../shared/elasticsearch.ts';
import { esClient, isolatedEnv } from '../../test/helpers.ts';
import type { AggregateDoc } from './aggregate.ts';
import { storeContract } from './store.contract.ts';
import { elasticsearchStore } from './store.ts';

const es = esClient();
afterAll(() => es.close());

storeContract('Elasticsearch', async () => {
  // Fresh indices for every test; Kafka is not needed here.
  const env = isolatedEnv();
  await ensureIndices(es, { EVENTS_INDEX: env.EVENTS_INDEX!, AGGREGATES_INDEX: env.AGGREGATES_INDEX!, FINALS_INDEX: env.FINALS_INDEX! });
  return {
    store: elasticsearchStore(es, { events: env.EVENTS_INDEX!, aggregates: env.AGGREGATES_INDEX!, finals: env.FINALS_INDEX! }),
    async indexEvents(events) {
      await es.bulk({ operations: events.flatMap((e) => [{ index: { _index: env.EVENTS_INDEX!, _id: e.event_id } }, e]) });
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
