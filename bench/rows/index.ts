/**
 * Row 3: index end to end — binary CloudEvents of enriched events in over HTTP, each
 * answered once Elasticsearch has indexed it under its event id (and its window notice is
 * produced) — against bulk-loading the same documents into the same index straight from
 * this process at the batch size and concurrency that do best: the Elasticsearch ceiling
 * on this machine, which row 5 divides by (details.esCeilingPerSecond). Every round and
 * every combination writes events no one wrote before, so each document is a new one.
 */
import type { BenchRow } from '../lib/context.ts';
import { CpuMeter, alternate, inLanes, medianOf, stats } from '../lib/measure.ts';
import { terminate } from '../../cli/dev/terminate.ts';
import { type Run, type Spawned, type Tally, atLeast, binary, compared, driveRound, freshEnrichedEvents, processes, rounded, spawnFunction, thousands } from '../lib/fixtures.ts';
import { enrichedEvent } from '../../shared/events.ts';
import { bulkOperations } from '../../functions/index/bulk.ts';
import { createEsClient } from '../../shared/elasticsearch.ts';
import type { EnrichedEvent } from '../../shared/schemas.ts';

const CONCURRENCY = 100;
const EVENTS = 20_000;
const WARMUP = 5_000;
const BATCHES = [250, 1000, 5000];
const PARALLEL = [1, 2, 4];
/** The index the function writes to (its default EVENTS_INDEX): same mapping, same shard. */
const INDEX = 'events';

export const indexRow: BenchRow = {
  ids: ['3'],
  async run(ctx) {
    const es = createEsClient({ url: ctx.elasticsearchUrl, requestTimeoutMs: 60_000 });
    let fn: Spawned | undefined;
    const tally: Tally = { problems: [], batchMeans: [] };
    const { problems, batchMeans } = tally;
    try {
      fn = await spawnFunction(ctx, 'index', 40, { KAFKA_BROKERS: ctx.kafkaBrokers, ELASTICSEARCH_URL: ctx.elasticsearchUrl });
      const index = fn;
      const subject = (round: number) =>
        driveRound(ctx, index, 'index', round, freshEnrichedEvents('index', round < 0 ? WARMUP : EVENTS).map((e) => binary(enrichedEvent(e))), CONCURRENCY, 'bulk', tally);

      /** `parallel` loaders each take the next `batch` documents until none are left; ids are the event ids, as index writes them. */
      const load = async (docs: EnrichedEvent[], batch: number, parallel: number): Promise<Run> => {
        const indexedAt = new Date().toISOString();
        let failedItems = 0;
        const meter = new CpuMeter(processes(ctx, {}, 'loader'));
        meter.start();
        const started = performance.now();
        await inLanes(docs.length, batch, parallel, async (from, to) => {
          const response = await es.bulk({ operations: bulkOperations(INDEX, docs.slice(from, to), { indexed_at: indexedAt }), refresh: false });
          if (response.errors) failedItems += response.items.filter((i) => (Object.values(i)[0]?.status ?? 500) >= 300).length;
        });
        const seconds = (performance.now() - started) / 1000;
        if (failedItems) problems.push(`bulk ${batch} × ${parallel}: ${failedItems} items failed`);
        return { perSecond: docs.length / seconds, cpu: meter.stop(docs.length) };
      };
      const combos = BATCHES.flatMap((batch) => PARALLEL.map((parallel) => ({ batch, parallel, key: `${batch}×${parallel}` })));
      const rounds: Record<string, Run>[] = [];
      const baseline = async (round: number): Promise<Run> => {
        if (round < 0) return load(freshEnrichedEvents('bulk', WARMUP), 1000, 2);
        const byCombo: Record<string, Run> = {};
        for (const c of combos) byCombo[c.key] = await load(freshEnrichedEvents('bulk', EVENTS), c.batch, c.parallel);
        ctx.log(`bulk: ${combos.map((c) => `${c.key} ${thousands(byCombo[c.key]!.perSecond)}/s`).join(', ')}`);
        rounds.push(byCombo);
        return Object.values(byCombo).reduce((a, b) => (b.perSecond > a.perSecond ? b : a));
      };

      const runs = await alternate(ctx.rounds, subject, baseline, ctx.log);

      const table = Object.fromEntries(
        combos.map((c) => {
          const all = rounds.map((r) => r[c.key]!);
          return [c.key, { perSecond: stats(all.map((r) => r.perSecond)).median, cpu: medianOf(all.map((r) => r.cpu)) }];
        }),
      );
      const bestCombo = Object.entries(table).reduce((a, b) => (b[1].perSecond > a[1].perSecond ? b : a))[0];
      const title = 'index: CE in → indexed with explicit ids';
      const m = compared(title, 'direct bulk loader, best batch × concurrency (the ES ceiling)', runs);
      return [
        {
          id: '3',
          title,
          ...m,
          ratioMeaning: 'events/s through index (HTTP in, validate, micro-batched bulk with _id = event_id, window notices to Kafka, answer per item) ÷ docs/s of the best direct bulk load of the same documents into the same index',
          target: atLeast(0.7, m.ratio, problems),
          notes: [
            `${thousands(EVENTS)} new events per round, ${CONCURRENCY} concurrent binary CloudEvents over loopback; index is dist/index/index.mjs with its default batching (bulks of ${stats(batchMeans).median.toFixed(0)} documents on average).`,
            `Direct load: ${thousands(EVENTS)} new documents per combination of batch ${BATCHES.join('/')} × concurrency ${PARALLEL.join('/')}, refresh off as in index; the best per round is the baseline, the best of the medians was ${bestCombo}.`,
            ...(problems.length ? [`Failures (measurement not valid): ${problems.join('; ')}.`] : []),
          ],
          details: {
            esCeilingPerSecond: Math.round(m.baseline.value.median),
            eventsPerRound: EVENTS,
            concurrency: CONCURRENCY,
            indexMeanBulk: Math.round(stats(batchMeans).median * 10) / 10,
            direct: Object.fromEntries(Object.entries(table).map(([k, r]) => [k, { perSecond: Math.round(r.perSecond), cpuPerEvent: rounded(r.cpu, 1) }])),
          },
        },
      ];
    } finally {
      if (fn) await terminate(fn.child);
      await es.close();
    }
  },
};
