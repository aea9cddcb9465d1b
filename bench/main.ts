/**
 * `make bench`: each row measures a subject against a baseline from the same run, on the
 * bench's own Kafka and Elasticsearch (127.0.0.1 only), and the run ends with one table,
 * bench/results/<date>.json and bench/results/latest.md. Benchmarks are not tests: a target
 * missed is reported, not failed.
 *
 *   make bench                         every row (~40 minutes)
 *   BENCH_ROWS=1,2,6 make bench        some rows
 *   BENCH_ROUNDS=5 make bench          more rounds per row (default 3)
 */
import { resolve } from 'node:path';
import { Type } from '@sinclair/typebox';
import { setupPlatform } from '../cli/setup.ts';
import { type LocalPlatform, infra } from '../cli/local-platform.ts';
import { commandSettings } from '../cli/settings.ts';
import { type BenchRow, contextFor } from './lib/context.ts';
import { agent } from './lib/measure.ts';
import { type RowResult, markdown, machine, writeResults } from './lib/report.ts';
import { shellRow } from './rows/shell.ts';
import { enrichRow } from './rows/enrich.ts';
import { indexRow } from './rows/index.ts';
import { generateRow } from './rows/generate.ts';
import { pipelineRow } from './rows/pipeline.ts';
import { coldStartRow } from './rows/cold-start.ts';
import { scalingRow } from './rows/scaling.ts';
import { drainRow } from './rows/drain.ts';

const root = resolve(import.meta.dirname, '..');
const ROWS: BenchRow[] = [shellRow, enrichRow, indexRow, generateRow, pipelineRow, coldStartRow, scalingRow, drainRow];
const config = commandSettings({
  // Row ids, comma-separated; unset: every row.
  BENCH_ROWS: Type.Optional(Type.String()),
  BENCH_ROUNDS: Type.Integer({ minimum: 1, default: 3 }),
});
const wanted = config.BENCH_ROWS?.split(',').map((s) => s.trim()).filter(Boolean);
const rounds = config.BENCH_ROUNDS;
const platform: LocalPlatform = { kafkaPort: 25092, esPort: 25200, runDir: '.run/bench-infra' };
const log = (m: string) => console.log(`  ${new Date().toISOString().slice(11, 19)} ${m}`);

async function main(): Promise<void> {
  const selected = ROWS.filter((r) => !wanted || r.ids.some((id) => wanted.includes(id)));
  if (selected.length === 0) throw new Error(`BENCH_ROWS=${config.BENCH_ROWS} names no row (rows: ${ROWS.flatMap((r) => r.ids).join(', ')})`);
  if (!infra('start', platform)) throw new Error('could not start Kafka and Elasticsearch');
  const results: RowResult[] = [];
  try {
    const ctx = contextFor(root, platform, rounds, log, wanted);
    await setupPlatform({ ...process.env, KAFKA_BROKERS: ctx.kafkaBrokers, ELASTICSEARCH_URL: ctx.elasticsearchUrl });
    for (const row of selected) {
      console.log(`\nrow ${row.ids.join(' + ')}`);
      for (const r of await row.run(ctx)) {
        ctx.results.push(r);
        if (!wanted || wanted.includes(r.id)) results.push(r);
      }
    }
  } finally {
    agent.destroy();
    infra('stop', platform);
  }
  results.sort((a, b) => Number(a.id) - Number(b.id));
  const settings = { BENCH_ROUNDS: rounds, ...(wanted ? { BENCH_ROWS: wanted.join(',') } : {}) };
  const { json, md } = writeResults(root, results, settings);
  console.log(`\n${markdown(results, machine(), new Date().toISOString(), settings)}\nwritten: ${json}, ${md}`);
}

await main();
