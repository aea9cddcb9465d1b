/**
 * Row 8: how fast `make dev` scales out on a backlog. 50,000 events land in data-stream at
 * once while enrich's KafkaSource rests at 0 vreplicas; measured: the time until KEDA and
 * the HPA take it to max-scale, until that many Kafka consumers have joined, and until its
 * lag is 0. The baseline is the schedule KEDA's executor and the Kubernetes HPA controller
 * themselves (tools/upstream, the code checked in test/upstream/) compute from the same lag
 * trace on the same polling grid: the emulation should reach max-scale within one polling
 * interval of it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { generateEvents, planFromRequest } from '../../functions/generate/generate.ts';
import { shopEvent } from '../../shared/events.ts';
import { createKafka, EventProducer, toKafkaRecord } from '../../shared/kafka.ts';
import { HPA_DEFAULTS } from '../../cli/scaling/defaults.ts';
import { runCheck, withoutError } from '../../test/upstream/modules.ts';
import { type BenchContext, type BenchRow, eachRound } from '../lib/context.ts';
import { stats } from '../lib/measure.ts';
import { PipelineSession } from '../lib/pipeline.ts';
import type { RowResult } from '../lib/report.ts';

const BACKLOG = 50_000;

interface Sample {
  at: number;
  lag: number;
  vreplicas: number;
  members: number;
}

interface Round {
  toMax: number;
  upstreamToMax: number;
  toConsumers: number;
  toDrained: number;
}

/** When KEDA's executor and the HPA controller, fed this lag trace, take the source to max-scale (ms after `since`). */
async function upstreamToMax(trace: Sample[], since: number, created: number, scaling: { maxScale: number; lagThreshold: number; pollingIntervalS: number; cooldownPeriodS: number }): Promise<number> {
  const lagAt = (t: number) => [...trace].reverse().find((s) => s.at <= t)?.lag ?? 0;
  const end = trace[trace.length - 1]!.at;
  const polls: { atMs: number; active: boolean }[] = [];
  for (let t = created; t <= end; t += scaling.pollingIntervalS * 1000) polls.push({ atMs: Math.floor(t / 1000) * 1000, active: lagAt(t) > 0 });
  const keda = await runCheck<{ id: string; error?: string; replicas: number[] }>('keda', ['executor'], [
    { id: 'backlog', minReplicaCount: 0, maxReplicaCount: scaling.maxScale, cooldownPeriod: scaling.cooldownPeriodS, initialReplicas: 0, createdAtMs: Math.floor(created / 1000) * 1000, polls } as never,
  ]);
  const k = withoutError(keda.get('backlog')!);
  const activated = polls[k.replicas.findIndex((r) => r > 0)]?.atMs;
  if (activated === undefined) throw new Error('KEDA never activated on this trace');
  // The HPA syncs every 15 s from a sync period after its creation; from the first sync after
  // KEDA's 0 → 1 it sees 1 replica.
  const samples: { atMs: number; metricMilli: number; setReplicas?: number }[] = [];
  let wrote = false;
  for (let t = created + HPA_DEFAULTS.syncPeriodMs; t <= end; t += HPA_DEFAULTS.syncPeriodMs) {
    const sample: { atMs: number; metricMilli: number; setReplicas?: number } = { atMs: Math.round(t - created), metricMilli: lagAt(t) * 1000 };
    if (!wrote && t >= activated) {
      sample.setReplicas = 1;
      wrote = true;
    }
    samples.push(sample);
  }
  const hpa = await runCheck<{ id: string; error?: string; replicas: number[] }>('hpa', [], [
    { id: 'backlog', minReplicas: 1, maxReplicas: scaling.maxScale, targetAverageValueMilli: scaling.lagThreshold * 1000, initialReplicas: 0, samples } as never,
  ]);
  const h = withoutError(hpa.get('backlog')!);
  const at = h.replicas.findIndex((r) => r >= scaling.maxScale);
  if (at < 0) throw new Error('the HPA never reached max-scale on this trace');
  return created + samples[at]!.atMs - since;
}

function round(ctx: BenchContext, n: number): Promise<Round> {
  return PipelineSession.run(ctx, ctx.basePort + 1200 + n * 100, async (session) => {
    const source = () => session.state()!.sources.find((s) => s.name === 'enrich')!;
    // The backlog arrives all at once, from outside the pipeline.
    const plan = planFromRequest({ count: BACKLOG }, { source: `/bench/backlog/${session.suffix}`, id: `backlog-${n}`, time: new Date(Date.now() - 60_000).toISOString() }, Date.now());
    const producer = new EventProducer(createKafka({ brokers: [ctx.kafkaBrokers], clientId: 'bench-backlog' }), { maxItems: 1000, maxWaitMs: 10, sendTimeoutMs: 30_000 });
    await producer.sendAll(session.names.TOPIC_RAW, [...generateEvents(plan)].map((e) => toKafkaRecord(shopEvent(e), String(e.user_id))));
    await producer.close();
    const since = Date.now();
    const trace: Sample[] = [];
    const maxScale = session.state()!.sources.find((s) => s.name === 'enrich')!.maxScale;
    let toMax = Number.NaN;
    let toConsumers = Number.NaN;
    for (const deadline = since + 600_000; Date.now() < deadline; await sleep(250)) {
      const s = source();
      trace.push({ at: Date.now(), lag: s.lag, vreplicas: s.vreplicas, members: s.members });
      if (Number.isNaN(toMax) && s.vreplicas >= maxScale) toMax = Date.now() - since;
      if (Number.isNaN(toConsumers) && s.members >= maxScale) toConsumers = Date.now() - since;
      if (trace.length > 8 && s.lag === 0 && s.inFlight === 0) break;
    }
    const toDrained = Date.now() - since;
    const created = source().autoscalerSince!;
    const scaling = { maxScale, lagThreshold: 10_000, pollingIntervalS: 10, cooldownPeriodS: 60 };
    const upstream = await upstreamToMax(trace, since, created, scaling);
    ctx.log(`round ${n + 1}: max-scale ${maxScale} after ${(toMax / 1000).toFixed(1)} s (upstream schedule ${(upstream / 1000).toFixed(1)} s), ${maxScale} consumers after ${(toConsumers / 1000).toFixed(1)} s, lag 0 after ${(toDrained / 1000).toFixed(1)} s`);
    return { toMax, upstreamToMax: upstream, toConsumers, toDrained };
  });
}

export const scalingRow: BenchRow = {
  ids: ['8'],
  async run(ctx): Promise<RowResult[]> {
    const rounds = await eachRound(ctx, (n) => round(ctx, n));
    const sec = (xs: number[]) => stats(xs.map((x) => x / 1000));
    const toMax = sec(rounds.map((r) => r.toMax));
    const upstream = sec(rounds.map((r) => r.upstreamToMax));
    const worst = Math.max(...rounds.map((r) => Math.abs(r.toMax - r.upstreamToMax))) / 1000;
    return [
      {
        id: '8',
        title: 'scaling response to a backlog',
        subject: { label: `make dev: enrich to max-scale after ${BACKLOG.toLocaleString('en-US')} events`, value: toMax, unit: 's' },
        baseline: { label: 'KEDA executor + HPA controller on the same lag trace', value: upstream, unit: 's' },
        ratio: toMax.median / upstream.median,
        ratioMeaning: 'seconds from the backlog until the emulation had enrich at max-scale, ÷ the seconds the upstream KEDA and HPA code takes on the same lag trace and polling grid; target: within one polling interval (10 s) in every round',
        target: { text: '|Δ| ≤ 10 s', met: worst <= 10 },
        notes: [
          `Largest difference ${worst.toFixed(1)} s. The max-scale consumers had joined the group ${sec(rounds.map((r) => r.toConsumers)).median.toFixed(1)} s after the backlog, and the lag was 0 after ${sec(rounds.map((r) => r.toDrained)).median.toFixed(1)} s (medians).`,
        ],
        details: { rounds },
      },
    ];
  },
};
