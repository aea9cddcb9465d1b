/**
 * Rows 6 and 7: what a new instance costs before it does any work. Row 6 times spawn →
 * readiness 200 of the enrich bundle against a bare Node HTTP server spawned the same way,
 * and the same function unbundled under tsx, which is what bundling saves. Row 7 reads the
 * idle resident memory of every function against a bare Fastify process. Every spawn runs
 * alone, its readiness polled every 5 ms from this process.
 */
import { pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchContext, BenchRow } from '../lib/context.ts';
import { alternate, cpuSeconds, rssMiB, stats } from '../lib/measure.ts';
import { terminate } from '../../cli/dev/terminate.ts';
import type { RowResult } from '../lib/report.ts';
import { BARE_FASTIFY, BARE_HTTP, bundles, script, spawnOnFreePort } from '../lib/fixtures.ts';

const SPAWNS = 10;
const SETTLE_MS = 2_000;
const FUNCTIONS = ['generate', 'enrich', 'index', 'window-aggregate'] as const;

/** One start: ms until readiness answered 200, and the CPU ms the process had used by then. */
interface Start {
  readyMs: number;
  cpuMs: number;
}

/** Medians of one round's starts. */
interface Round {
  ms: number;
  unbundledMs?: number;
  cpuMs: number;
}

export const coldStartRow: BenchRow = {
  ids: ['6', '7'],
  async run(ctx) {
    const bare = script(BARE_HTTP);
    const built = await bundles(ctx.root, { fastify: BARE_FASTIFY });
    try {
      return [await coldStart(ctx, bare.path), await idleMemory(ctx, built.paths['fastify']!)];
    } finally {
      bare.remove();
      built.remove();
    }
  },
};

/** Spawns cycle through the row's 20 ports, so no probe meets a socket of the process before; two spares each. */
function portsOf(ctx: BenchContext): () => number[] {
  let n = 0;
  return () => [0, 1, 2].map(() => ctx.basePort + 80 + (n++ % 20));
}

function envOf(ctx: BenchContext): Record<string, string> {
  return { KAFKA_BROKERS: ctx.kafkaBrokers, ELASTICSEARCH_URL: ctx.elasticsearchUrl };
}

async function start(args: string[], ports: number[], env: Record<string, string>): Promise<Start> {
  const { child, readyMs } = await spawnOnFreePort(args, ports, env);
  const cpuMs = (cpuSeconds(child.pid) ?? NaN) * 1000;
  await terminate(child);
  return { readyMs, cpuMs };
}

async function coldStart(ctx: BenchContext, bareScript: string): Promise<RowResult> {
  const port = portsOf(ctx);
  const env = envOf(ctx);
  const bundled = [`${ctx.root}/dist/enrich/index.mjs`];
  const tsx = pathToFileURL(`${ctx.root}/node_modules/tsx/dist/loader.mjs`).href;
  const unbundled = ['--import', tsx, `${ctx.root}/functions/enrich/main.ts`];
  const median = (xs: number[]) => stats(xs).median;

  // Bundled and unbundled interleave within a round, so drift hits both.
  const subject = async (round: number): Promise<Round> => {
    const b: Start[] = [];
    const u: Start[] = [];
    for (let i = 0; i < (round < 0 ? 2 : SPAWNS); i++) {
      b.push(await start(bundled, port(), env));
      u.push(await start(unbundled, port(), env));
    }
    const out = { ms: median(b.map((s) => s.readyMs)), unbundledMs: median(u.map((s) => s.readyMs)), cpuMs: median(b.map((s) => s.cpuMs)) };
    ctx.log(`enrich ready in ${out.ms.toFixed(0)} ms bundled, ${out.unbundledMs.toFixed(0)} ms unbundled (median of ${b.length})`);
    return out;
  };
  const baseline = async (round: number): Promise<Round> => {
    const s: Start[] = [];
    for (let i = 0; i < (round < 0 ? 2 : SPAWNS); i++) s.push(await start([bareScript], port(), env));
    const out = { ms: median(s.map((x) => x.readyMs)), cpuMs: median(s.map((x) => x.cpuMs)) };
    ctx.log(`bare node ready in ${out.ms.toFixed(0)} ms (median of ${s.length})`);
    return out;
  };
  const runs = await alternate(ctx.rounds, subject, baseline, ctx.log);

  const fn = stats(runs.subject.map((r) => r.ms));
  const tsxMs = stats(runs.subject.map((r) => r.unbundledMs ?? NaN));
  const bareMs = stats(runs.baseline.map((r) => r.ms));
  const ratio = fn.median / bareMs.median;
  const bundlingGain = tsxMs.median / fn.median;
  return {
    id: '6',
    title: 'cold start: spawn a bundled function → readiness 200',
    subject: { label: 'enrich bundle (dist/enrich/index.mjs) spawn → readiness 200', value: fn, unit: 'ms', cpuPerEvent: { 'function, per start': median(runs.subject.map((r) => r.cpuMs)) * 1000 } },
    baseline: { label: 'bare Node HTTP server spawned the same way', value: bareMs, unit: 'ms', cpuPerEvent: { 'bare server, per start': median(runs.baseline.map((r) => r.cpuMs)) * 1000 } },
    ratio,
    ratioMeaning: 'median ms from spawn to the first readiness 200 of the enrich bundle ÷ the same for a bare http.createServer script (lower is better)',
    target: { text: '≤ 2.0×, and bundled ≥ 3× faster than unbundled', met: ratio <= 2 && bundlingGain >= 3 },
    notes: [
      `Bundled is ${bundlingGain.toFixed(1)}× faster than unbundled (node --import tsx functions/enrich/main.ts: ${tsxMs.median.toFixed(0)} ms; target ≥ 3×, ${bundlingGain >= 3 ? 'met' : 'not met'}); tsx's transform cache is warm after the warm-up, as on any second start.`,
      `${SPAWNS} spawns of each per round, one at a time; enrich's readiness does not wait for Kafka (its producer connects on the first event), so this is start-up alone. CPU per start is the process's own CPU until ready (1/100 s resolution).`,
    ],
    details: { spawnsPerRound: SPAWNS, unbundledMs: tsxMs, bundlingGain: Math.round(bundlingGain * 100) / 100 },
  };
}

async function idleMemory(ctx: BenchContext, bareFastify: string): Promise<RowResult> {
  const port = portsOf(ctx);
  const env = envOf(ctx);
  const idle = async (args: string[]): Promise<number> => {
    const { child } = await spawnOnFreePort(args, port(), env);
    try {
      await sleep(SETTLE_MS);
      const rss = rssMiB(child.pid);
      if (rss === undefined) throw new Error(`no VmRSS for ${args.join(' ')}`);
      return rss;
    } finally {
      await terminate(child);
    }
  };
  const subject = async () => {
    const byFunction: Record<string, number> = {};
    for (const f of FUNCTIONS) byFunction[f] = await idle([`${ctx.root}/dist/${f}/index.mjs`]);
    ctx.log(`idle RSS: ${FUNCTIONS.map((f) => `${f} ${byFunction[f]!.toFixed(1)} MiB`).join(', ')}`);
    return byFunction;
  };
  const baseline = async () => {
    const rss = await idle([bareFastify]);
    ctx.log(`idle RSS: bare Fastify ${rss.toFixed(1)} MiB`);
    return { 'bare Fastify': rss };
  };
  const runs = await alternate(ctx.rounds, subject, baseline, ctx.log);

  const perFunction = Object.fromEntries(FUNCTIONS.map((f) => [f, stats(runs.subject.map((r) => r[f]!)).median]));
  const largest = FUNCTIONS.reduce((a, b) => (perFunction[b]! > perFunction[a]! ? b : a));
  const value = stats(runs.subject.map((r) => Math.max(...Object.values(r))));
  const bareRss = stats(runs.baseline.map((r) => r['bare Fastify']!));
  const ratio = value.median / bareRss.median;
  return {
    id: '7',
    title: 'RSS of each function idle',
    subject: { label: `largest idle RSS of the four functions (${largest})`, value, unit: 'MiB' },
    baseline: { label: 'bare Fastify process, idle', value: bareRss, unit: 'MiB' },
    ratio,
    ratioMeaning: 'the largest VmRSS of the four function bundles, each spawned alone, ready and left idle 2 s ÷ VmRSS of a bare Fastify bundle the same way (lower is better)',
    target: { text: 'idle ≤ 1.5×', met: ratio <= 1.5 },
    notes: [
      `Idle RSS (median MiB): ${FUNCTIONS.map((f) => `${f} ${perFunction[f]!.toFixed(1)}`).join(', ')}; bare Fastify ${bareRss.median.toFixed(1)}. Idle means no event yet, so no Kafka or Elasticsearch connection is open.`,
      'RSS under load is reported by row 5.',
    ],
    details: { idleRssMiB: Object.fromEntries(Object.entries(perFunction).map(([f, v]) => [f, Math.round(v * 10) / 10])), settleMs: SETTLE_MS },
  };
}
