/** What a benchmark row gets from `make bench`: the bench's own local platform and run settings. */
import { type LocalPlatform, endpoints, platformPids } from '../../cli/local-platform.ts';
import type { RowResult } from './report.ts';

export interface BenchContext {
  root: string;
  platform: LocalPlatform;
  kafkaBrokers: string;
  elasticsearchUrl: string;
  /** Rounds per row after the warm-up (BENCH_ROUNDS). */
  rounds: number;
  /** Ports from here on (below Linux's ephemeral range, so no outgoing connection holds one) are free for the row's own processes. */
  basePort: number;
  /** Kafka's and Elasticsearch's process ids, for CPU and memory. */
  pids(): { kafka?: number; elasticsearch?: number };
  log(message: string): void;
  /** The rows measured so far in this run (later rows divide by earlier ceilings). */
  results: RowResult[];
  /** Whether this run reports row `id` (BENCH_ROWS), for modules that measure several. */
  wants(id: string): boolean;
}

export interface BenchRow {
  /** The row numbers it reports (a row module may report several, e.g. 5 and 7). */
  ids: string[];
  run(ctx: BenchContext): Promise<RowResult[]>;
}

export function contextFor(root: string, platform: LocalPlatform, rounds: number, log: (m: string) => void, wanted?: string[]): BenchContext {
  const { kafkaBrokers, elasticsearchUrl } = endpoints(platform);
  return { root, platform, kafkaBrokers, elasticsearchUrl, rounds, basePort: 25500, pids: () => platformPids(platform), log, results: [], wants: (id) => !wanted || wanted.includes(id) };
}

/** `round` once per round of the run (BENCH_ROUNDS), one after the other. */
export async function eachRound<R>(ctx: BenchContext, round: (n: number) => Promise<R>): Promise<R[]> {
  const rounds: R[] = [];
  for (let n = 0; n < ctx.rounds; n++) rounds.push(await round(n));
  return rounds;
}
